import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AppError } from "../../../core/errors";
import { createLogger } from "../../../core/logger";
import { createRedis } from "../../../core/redis";
import { REPLAY_WINDOW_SECONDS, ReplayGuard } from "./replayGuard";

describe("ReplayGuard (Pub/Sub messageIds in Redis)", () => {
  const redis = createRedis(inject("redisUrl"), "worker");
  const prefix = `replay-test-${randomBytes(4).toString("hex")}:`;
  const guard = new ReplayGuard(redis, prefix, createLogger("test", "silent"));
  afterAll(async () => {
    await redis.del(`${prefix}m-1`, `${prefix}m-2`);
    redis.disconnect();
  });

  it("a messageId is new once; released after a failed delivery, the redelivery is new again", async () => {
    expect(await guard.claim("m-1")).toBe(false);
    expect(await guard.claim("m-1")).toBe(true);
    expect(await guard.claim("m-2")).toBe(false);
    await guard.release("m-1");
    expect(await guard.claim("m-1")).toBe(false);
    expect(await guard.claim("m-1")).toBe(true);
    expect(await redis.ttl(`${prefix}m-1`)).toBeGreaterThan(REPLAY_WINDOW_SECONDS - 60);
  });

  it("without Redis nothing can be remembered: 503, for Pub/Sub to deliver again", async () => {
    const blind = new ReplayGuard(null, prefix, createLogger("test", "silent"));
    const err = await blind.claim("m-3").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, code: "queue_unavailable" });
  });
});
