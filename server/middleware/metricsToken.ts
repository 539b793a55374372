import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../../core/config";
import { UnauthorizedError } from "../../core/errors";

/**
 * /metrics names queue depths, request volumes and timings: it answers only a scraper that
 * sends `Authorization: Bearer $METRICS_TOKEN`. Without METRICS_TOKEN it is not served at all
 * (404), so a deployment that forgot to set it leaks nothing.
 */
export function requireMetricsToken(config: Pick<Config, "metricsToken">): RequestHandler {
  const expected = config.metricsToken ? Buffer.from(config.metricsToken) : null;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!expected) return next("route");
    const sent = Buffer.from(req.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? "");
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      res.set("WWW-Authenticate", 'Bearer realm="metrics"');
      throw new UnauthorizedError("Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.");
    }
    next();
  };
}
