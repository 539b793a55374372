/**
 * Errors that carry their meaning to whoever reports them: an HTTP status and a snake_case code
 * for the API's `{error:{code,message}}` body, and the same code in a failed task snapshot.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, code = "invalid_request") {
    super(code, message, 400);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Sign in first, or send an API token as 'Authorization: Bearer <token>'.") {
    super("unauthorized", message, 401);
  }
}

export class ForbiddenError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

export class NotFoundError extends AppError {
  constructor(what = "resource") {
    super("not_found", `No such ${what}.`, 404);
  }
}

/** The queue (Redis) cannot be reached: the client should use the streaming fallback. */
export class QueueUnavailableError extends AppError {
  constructor(fallback: string) {
    super("queue_unavailable", "The sync queue cannot be reached right now.", 503, { fallback });
  }
}

/** The queue answers but no worker process is alive to take the task. */
export class NoWorkersError extends AppError {
  constructor(fallback: string) {
    super("no_workers", "No sync worker is running right now.", 503, { fallback });
  }
}

/** Gmail refused our grant (revoked, expired or missing): the user must connect Gmail again. */
export class ReauthRequiredError extends AppError {
  constructor(message = "Gmail access was revoked or has expired. Connect Gmail again.") {
    super("reauth_required", message, 401);
  }
}

/** Gmail kept failing (429/5xx/network) after every retry; a later attempt may succeed. */
export class GmailUnavailableError extends AppError {
  constructor(message: string) {
    super("gmail_unavailable", message, 502);
  }
}

/**
 * A first sync stopped at the project's daily budget (its reserve or the user's fair share of the
 * day): the task is parked until `until`, Google's reset at midnight Pacific Time, and resumes
 * where it stopped. Not a failure: no attempt is spent.
 */
export class DailyBudgetSpentError extends AppError {
  constructor(readonly until: number) {
    super(
      "daily_budget",
      "Today's Gmail quota is kept for keeping mailboxes current; this first sync resumes after Google's daily reset.",
      503,
      { retryAt: until },
    );
  }
}

/**
 * A change-feed cursor inside the part of the feed retention removed: changes after it are gone,
 * so following on from it would skip them. The follower re-reads the mirror and goes on from
 * `head`, the feed's last seq when this was answered (docs/changes.md).
 */
export class CursorExpiredError extends AppError {
  constructor(prunedThrough: number, head: number, retentionDays: number) {
    super(
      "cursor_expired",
      `Changes up to seq ${prunedThrough} are gone (the feed keeps ${retentionDays} days). Re-read the mirror (GET /api/emails), then follow from seq ${head}.`,
      410,
      { prunedThrough, head },
    );
  }
}
