import { CursorExpiredError, ValidationError } from "../errors";
import type { ChangeRepository } from "../repositories/change.repository";

const DAY_MS = 86_400_000;

/** What one read of the feed answers, and the feed's head it was read at. */
export interface FeedRead {
  /** The page's changes: a JSON array of `Change`, as sent. */
  changesJson: string;
  /** How many changes it holds. */
  count: number;
  /** Pass as `since` next time: the last seq here, or `since` when none. */
  next: number;
  /** More changes are already waiting after `next`. */
  more: boolean;
  /** The user's last seq when this was read. */
  head: number;
}

/** A page as `GET /api/changes` answers it, written without parsing the changes again. */
export const pageJson = (read: FeedRead): string =>
  `{"changes":${read.changesJson},"next":${read.next},"more":${read.more}}`;

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
    const next = page.last ?? since;
    return { changesJson: page.json, count: page.count, next, more: next < page.head, head: page.head };
  }

  /** Removes changes older than the retention (the maintenance job); answers how many. */
  prune(now = Date.now()): Promise<number> {
    return this.changes.prune(new Date(now - this.retentionDays * DAY_MS));
  }
}
