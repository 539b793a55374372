import type { Change, ChangePage } from "../contract";
import { CursorExpiredError, ValidationError } from "../errors";
import type { ChangeRepository } from "../repositories/change.repository";

const DAY_MS = 86_400_000;

/** What one read of the feed answers, and the feed's head it was read at. */
export interface FeedRead extends ChangePage {
  /** The user's last seq when this was read. */
  head: number;
}

/**
 * The change feed of a user's mirror (docs/changes.md): pages of changes after a cursor, and
 * retention. Each change is numbered by the write that made it (core/repositories/change.repository.ts),
 * so a follower that keeps `next` misses nothing and sees nothing twice.
 */
export class ChangeFeedService {
  constructor(
    private readonly changes: ChangeRepository,
    /** CHANGE_FEED_RETENTION_DAYS. */
    private readonly retentionDays: number,
  ) {}

  /**
   * Up to `limit` changes after `since`. A cursor inside the pruned part of the feed is
   * CursorExpiredError (410); one past the feed's head was never issued (400 invalid_cursor).
   */
  async read(userId: string, since: number, limit: number): Promise<FeedRead> {
    const page = await this.changes.read(userId, since, limit);
    if (since < page.prunedThrough)
      throw new CursorExpiredError(page.prunedThrough, page.head, this.retentionDays);
    if (since > page.head) {
      throw new ValidationError(
        `since ${since} is past the feed's last change (${page.head}); follow from a seq this feed answered`,
        "invalid_cursor",
      );
    }
    const changes: Change[] = page.changes.map((c) => ({
      seq: c.seq,
      type: c.type,
      // Today each user has one Gmail account, whose id is the user's (docs/changes.md).
      accountId: userId,
      ...(c.messageId === null ? {} : { messageId: c.messageId }),
      at: c.at.toISOString(),
    }));
    const next = changes.length ? changes[changes.length - 1]!.seq : since;
    return { changes, next, more: next < page.head, head: page.head };
  }

  /** Removes changes older than the retention (the maintenance job); answers how many. */
  prune(now = Date.now()): Promise<number> {
    return this.changes.prune(new Date(now - this.retentionDays * DAY_MS));
  }
}
