import { type Request, type Response, Router } from "express";
import type { WebContext } from "../WebContext";

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/healthz", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });

  router.get("/readyz", async (_req: Request, res: Response) => {
    const checks: Record<string, "ok" | string> = {};
    await Promise.all([
      within(2_000, ctx.sequelize.query("SELECT 1"))
        .then(() => {
          checks.postgres = "ok";
        })
        .catch((e: Error) => {
          checks.postgres = e.message || "unreachable";
        }),
      (ctx.redis ? within(2_000, ctx.redis.ping()) : Promise.reject(new Error("not configured")))
        .then(() => {
          checks.redis = "ok";
        })
        .catch((e: Error) => {
          checks.redis = e.message || "unreachable";
        }),
    ]);
    const failed = Object.entries(checks)
      .filter(([, v]) => v !== "ok")
      .map(([k]) => k);
    res
      .status(failed.length ? 503 : 200)
      .json({ status: failed.length ? "unavailable" : "ok", checks, failed });
  });

  return router;
}
