import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "../logger";
import type { Invalidation, PrincipalCache } from "./PrincipalCache";

/**
 * The channel every web node of one deployment (one queue prefix) listens on. On a Redis Cluster
 * a classic PUBLISH reaches the subscribers of every node (the cluster bus forwards it): the
 * messages are few and small, so the broadcast costs nothing worth a sharded channel.
 */
/** How long a logout or revocation keeps trying to tell the other nodes. */
export const PUBLISH_PATIENCE_MS = 1_500;

export const invalidationChannel = (queuePrefix: string) => `${queuePrefix}:auth:ended`;

/**
 * Tells every web node that sessions or tokens ended, so each drops them from its PrincipalCache
 * at once. It has a subscriber connection of its own (a subscribed Redis connection can do nothing
 * else). While that connection is down the cache is told so, and keeps entries only briefly.
 */
export class AuthInvalidation {
  private readonly channel: string;
  private closed = false;

  constructor(
    private readonly cache: PrincipalCache,
    private readonly publisher: Redis | Cluster,
    private readonly subscriber: Redis | Cluster,
    queuePrefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = invalidationChannel(queuePrefix);
    subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        this.cache.forget(JSON.parse(message) as Invalidation);
      } catch (err) {
        // A message we cannot read may have named anything: forget everything.
        this.logger.warn({ err }, "unreadable auth invalidation; cache cleared");
        this.cache.clear();
      }
    });
    // Messages published while the connection was down are lost: back to the short lifetime.
    subscriber.on("close", () => this.cache.setListening(false));
    subscriber.on("ready", () => void this.listen());
    if (subscriber.status === "ready") void this.listen();
  }

  private async listen(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
      if (!this.closed) this.cache.setListening(true);
    } catch (err) {
      this.logger.debug({ err }, "auth invalidation: subscribe failed; retried on reconnect");
    }
  }

  /**
   * Drops the entries here and tells the other nodes; resolves once Redis has taken the message,
   * or after `PUBLISH_PATIENCE_MS` of trying. The publisher fails fast (the web's request client
   * queues nothing while it is not ready): a node that has just started, or a cluster client
   * between two slot maps, would otherwise drop the message, and the other nodes, still
   * listening, would keep serving an ended session for their whole cache lifetime.
   */
  async publish(what: Invalidation): Promise<void> {
    this.cache.forget(what);
    const message = JSON.stringify(what);
    const giveUpAt = Date.now() + PUBLISH_PATIENCE_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.publisher.publish(this.channel, message);
        return;
      } catch (err) {
        const pause = Math.min(50 * 2 ** attempt, 400);
        if (this.closed || Date.now() + pause > giveUpAt) {
          // The other nodes then hear nothing; with Redis down their entries live fallbackTtlMs only.
          this.logger.warn({ err: (err as Error).message }, "auth invalidation not published");
          return;
        }
        await sleep(pause);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.cache.setListening(false);
    this.subscriber.disconnect();
  }
}
