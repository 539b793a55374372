import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../../core/config";
import { UnauthorizedError } from "../../core/errors";
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED_MESSAGE, metricsAccess } from "../../core/metricsAccess";

/** A web node's /metrics under core/metricsAccess.ts's rule: 404 without METRICS_TOKEN, else 401 or on. */
export function requireMetricsToken(config: Pick<Config, "metricsToken">): RequestHandler {
  const judge = metricsAccess(config.metricsToken);
  return (req: Request, res: Response, next: NextFunction) => {
    const verdict = judge(req.get("authorization"));
    if (verdict === "not_served") return next("route");
    if (verdict === "unauthorized") {
      res.set("WWW-Authenticate", METRICS_CHALLENGE);
      throw new UnauthorizedError(METRICS_UNAUTHORIZED_MESSAGE);
    }
    next();
  };
}
