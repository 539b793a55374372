import { timingSafeEqual } from "node:crypto";

/**
 * The one rule for every /metrics, a web node's and a worker's: metrics name queue depths,
 * request volumes and timings, so they answer only a scraper that sends
 * `Authorization: Bearer $METRICS_TOKEN`. Without METRICS_TOKEN they are not served at all, so a
 * deployment that forgot it leaks nothing.
 */
export type MetricsVerdict = "not_served" | "unauthorized" | "allowed";

/** The `WWW-Authenticate` challenge of a refused scrape. */
export const METRICS_CHALLENGE = 'Bearer realm="metrics"';
export const METRICS_UNAUTHORIZED_MESSAGE = "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.";

/** Judges an `Authorization` header against METRICS_TOKEN, in constant time for equal lengths. */
export function metricsAccess(
  token: string | undefined,
): (authorization: string | undefined) => MetricsVerdict {
  const expected = token ? Buffer.from(token) : null;
  return (authorization) => {
    if (!expected) return "not_served";
    const sent = Buffer.from(authorization?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? "");
    return sent.length === expected.length && timingSafeEqual(sent, expected) ? "allowed" : "unauthorized";
  };
}
