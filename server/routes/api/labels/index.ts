import { Router } from "express";
import { userIdOf } from "../../../middleware/authenticate";
import { validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { listLabels } from "./schema";

export function labelRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/labels", validate(listLabels), async (req, res) => {
    res.json({ labels: await ctx.emails.labels(userIdOf(req)) });
  });

  return router;
}
