import { Router } from "express";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { getLabel, listLabels } from "./schema";

export function labelRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/labels", validate(listLabels), async (req, res) => {
    res.json({ labels: await ctx.emails.labels(userIdOf(req)) });
  });

  router.get("/labels/:id", validate(getLabel), async (req, res) => {
    const label = await ctx.emails.label(userIdOf(req), inputOf(req, getLabel).params.id);
    if (!label) throw new NotFoundError("label");
    res.json(label);
  });

  return router;
}
