import type { Cluster, Redis } from "ioredis";
import { AppError } from "../../../core/errors";
import type { Logger } from "../../../core/logger";

/**
 * How long a push's `messageId` is remembered: as long as its OIDC token can be accepted. A token
 * lives an hour (`iat` to `exp`) and the verifier allows five minutes of clock skew at each end,
 * so a replay can come at most 70 minutes after the first delivery.
 */
export const REPLAY_WINDOW_SECONDS = 70 * 60;

/**
 * Remembers each Pub/Sub `messageId` it is shown, in Redis, one key per id (`SET NX EX`): every
 * web node sees the same ids, and on a Redis Cluster each call touches one key in its own slot.
 */
export class ReplayGuard {
  constructor(
    private readonly redis: Redis | Cluster | null,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /**
   * True when `messageId` was claimed already within the window: a replay (or Pub/Sub's
   * redelivery of one that was handled). Without Redis nothing can be remembered, so the push is
   * refused with a 503 and Pub/Sub delivers it again later, rather than acted on unguarded.
   */
  async claim(messageId: string): Promise<boolean> {
    const unavailable = () =>
      new AppError("queue_unavailable", "Redis cannot be reached; deliver again later.", 503);
    if (!this.redis) throw unavailable();
    try {
      const set = await this.redis.set(this.prefix + messageId, "1", "EX", REPLAY_WINDOW_SECONDS, "NX");
      return set === null;
    } catch (err) {
      this.logger.warn({ err }, "gmail push replay check failed");
      throw unavailable();
    }
  }

  /** Forgets a claim whose push was not acted on, so Pub/Sub's redelivery is. */
  async release(messageId: string): Promise<void> {
    await this.redis?.del(this.prefix + messageId).catch(() => 0);
  }
}
