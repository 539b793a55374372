import { z } from "zod";
import { ChangePageSchema, ChangeSchema } from "../../../../core/contract/schemas";
import { error, route } from "../route";

/** The most changes one answer carries. */
export const MAX_CHANGES_PER_PAGE = 1_000;
/** The longest a long-poll waits for a first change (`wait`, seconds). */
export const MAX_WAIT_SECONDS = 60;

const SINCE = "since must be a whole number, 0 or more (a seq this feed answered)";
const LIMIT = `limit must be a whole number from 1 to ${MAX_CHANGES_PER_PAGE}`;
const WAIT = `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`;

export const listChanges = route({
  method: "get",
  path: "/api/changes",
  tag: "changes",
  auth: "session_or_token",
  scope: "changes",
  summary:
    "The changes of the user's mirror after a cursor, in order; long-poll with `wait`, or stream them (SSE)",
  description:
    "Every change to the mirror (message added, deleted, relabelled; account state; sync finished) has a per-user " +
    "`seq`, given in the transaction that made it: strictly increasing, without gaps, in commit order. Keep `next` and " +
    "pass it as `since`: nothing is missed or repeated. `wait=N` holds an empty answer up to N seconds until a change " +
    "comes. With `Accept: text/event-stream` the answer is a stream of Server-Sent Events, one per change (`id:` is " +
    "its seq, `data:` the change), until the client leaves; a reconnect's `Last-Event-ID` resumes after it. Changes " +
    "are kept CHANGE_FEED_RETENTION_DAYS (docs/changes.md).",
  query: z.object({
    since: z.coerce
      .number({ error: SINCE })
      .int(SINCE)
      .min(0, SINCE)
      .max(Number.MAX_SAFE_INTEGER, SINCE)
      .default(0)
      .meta({
        description: "The last seq already seen (`next` of the previous answer); 0 = from the start.",
      }),
    limit: z.coerce
      .number({ error: LIMIT })
      .int(LIMIT)
      .min(1, LIMIT)
      .max(MAX_CHANGES_PER_PAGE, LIMIT)
      .default(100)
      .meta({ description: `Changes per answer, 1 to ${MAX_CHANGES_PER_PAGE}.` }),
    wait: z.coerce
      .number({ error: WAIT })
      .int(WAIT)
      .min(0, WAIT)
      .max(MAX_WAIT_SECONDS, WAIT)
      .default(0)
      .meta({
        description: `Seconds (0 to ${MAX_WAIT_SECONDS}) to hold the answer while there is no change after since; it returns as soon as one commits.`,
      }),
  }),
  codes: { since: "invalid_cursor", limit: "invalid_limit", wait: "invalid_wait" },
  responses: {
    200: {
      description:
        "A page of changes (JSON), or with Accept: text/event-stream one event per change (`id: <seq>`, `data: <Change>`) and `: keep-alive` comments",
      schema: ChangePageSchema,
      mediaType: "text/event-stream",
      itemSchema: ChangeSchema,
    },
    400: error(
      "invalid_cursor (since, or Last-Event-ID, is not a seq, or is past the feed's last change), invalid_limit, invalid_wait, or invalid_request (a parameter given twice)",
    ),
    429: error(
      "rate_limited: RATE_LIMIT_FEED_FOLLOWERS long-polls (wait > 0) and event streams of this user are already open",
    ),
    410: error(
      "cursor_expired: changes after since were removed by retention; `head` is the feed's last seq: re-read the mirror, then follow from it",
    ),
  },
});
