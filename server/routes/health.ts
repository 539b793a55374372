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

type Dependency = "postgres" | "redis";

export function healthRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/healthz", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });

  /**
   * Which dependency failed, by name only: error text can hold hostnames, users and versions,
   * and this route answers anyone (load balancers probe it). The reason goes to the log.
   */
  router.get("/readyz", async (_req: Request, res: Response) => {
    const probes: Record<Dependency, () => Promise<unknown>> = {
      postgres: () => ctx.repos.ping(),
      // Both request-path clients: each connects on its own, and a sync request needs both.
      redis: () =>
        ctx.redis && ctx.queueRedis
          ? Promise.all([ctx.redis.ping(), ctx.queueRedis.ping()])
          : Promise.reject(new Error("not configured")),
    };
    const checks = Object.fromEntries(
      await Promise.all(
        Object.entries(probes).map(async ([name, probe]) => {
          try {
            await within(2_000, probe());
            return [name, "ok"] as const;
          } catch (err) {
            ctx.logger.warn({ err, dependency: name }, "readiness check failed");
            return [name, "failed"] as const;
          }
        }),
      ),
    ) as Record<Dependency, "ok" | "failed">;
    const failed = Object.keys(checks).filter((k) => checks[k as Dependency] !== "ok");
    res
      .status(failed.length ? 503 : 200)
      .json({ status: failed.length ? "unavailable" : "ok", checks, failed });
  });

  return router;
}
