/**
 * Abuse limits far above anything a test, the e2e suite or the benchmark does: they sign in
 * dozens of users from one address and sync in bursts on purpose. Tests of the limits themselves
 * set their own (server/middleware/rateLimit.test.ts). No vitest import: bench and e2e use this.
 */
export const GENEROUS_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_SIGN_IN: "1000000/60",
  RATE_LIMIT_BAD_TOKEN: "1000000/60",
  RATE_LIMIT_SYNC: "1000000/60",
  RATE_LIMIT_TOKEN_CREATE: "1000000/60",
  RATE_LIMIT_SOCKET_CONNECT: "1000000/60",
  RATE_LIMIT_SUBSCRIBE: "1000000/60",
  RATE_LIMIT_STREAMS: "1000",
};
