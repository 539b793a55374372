import { z } from "zod";
import { SyncAcceptedSchema, TaskSnapshotSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

const DAYS = "newerThanDays must be a whole number of days from 1 to 36500";
const LABELS = "labelIds must be a list of 1 to 50 Gmail label ids (like INBOX or Label_12)";

/**
 * What to sync, in the body of a POST that starts one. Leaving both out (or sending no body)
 * syncs the whole mailbox. null is read as left out.
 */
export const SyncOptionsBody = z
  .strictObject({
    newerThanDays: z
      .int({ error: DAYS })
      .min(1, DAYS)
      .max(36500, DAYS)
      .nullish()
      .transform((v) => v ?? undefined)
      .meta({
        description: "Only messages that arrived in the last N days (Gmail's `newer_than:Nd`), 1 to 36500.",
      }),
    labelIds: z
      .array(z.string({ error: LABELS }).regex(/^[A-Za-z0-9_-]{1,128}$/, LABELS), { error: LABELS })
      .min(1, LABELS)
      .max(50, LABELS)
      .nullish()
      // Order and repeats say nothing: the stored form is sorted and unique, so equal choices compare equal.
      .transform((v) => (v ? [...new Set(v)].sort() : undefined))
      .meta({
        description:
          "Only messages carrying every one of these labels (ids from GET /api/labels; Gmail ANDs them), 1 to 50. With newerThanDays too: messages of the last N days that carry them.",
      }),
  })
  .meta({ id: "SyncOptionsBody" });

const BODY_CODES = { newerThanDays: "invalid_newer_than_days", labelIds: "invalid_label_ids" };

export const startSync = route({
  method: "post",
  path: "/api/emails/sync",
  tag: "sync",
  auth: "session_or_token",
  scope: "sync",
  summary: "Queue a sync of the user's mailbox (or join the one already open)",
  description:
    "Answers at once; follow the task on the socket (`task:subscribe`), by polling statusUrl, or, " +
    "on a 503, through the streaming fallback named in `fallback`. The body chooses what to sync " +
    "(stored on the task as `options`); no body, or `{}`, is the whole mailbox. A request that " +
    "names no options joins the user's open task whatever it covers; one that names options " +
    "different from the open task's is refused with 409 `sync_in_progress` until it ends.",
  body: SyncOptionsBody,
  codes: BODY_CODES,
  responses: {
    202: json(SyncAcceptedSchema, "The task that will sync the mailbox"),
    400: error(
      "invalid_newer_than_days, invalid_label_ids, or invalid_request (unknown fields, a body that is not an object)",
    ),
    409: error("sync_in_progress: the user's open sync covers other options; `taskId` names it"),
    429: error("rate_limited (Retry-After says when to try again)"),
    503: error("queue_unavailable or no_workers, with `fallback`: the streaming endpoint"),
  },
});

export const syncStatus = route({
  method: "get",
  path: "/api/emails/sync/status/:taskId",
  tag: "sync",
  auth: "session_or_token",
  scope: "read",
  summary: "A sync task's latest snapshot (for clients that poll)",
  params: z.object({ taskId: z.string() }),
  responses: {
    200: json(TaskSnapshotSchema, "The task's freshest snapshot, with why it waits"),
    404: error("not_found: no such task of this user"),
  },
});

export const streamSync = route({
  method: "post",
  path: "/api/emails/sync/stream",
  tag: "sync",
  auth: "session_or_token",
  scope: "sync",
  summary: "Run the sync inside this request, one snapshot per NDJSON line (the fallback)",
  description:
    "For when no worker can take the task. While another runner holds the user's task the stream " +
    "follows it, and takes it over should that runner's lease lapse. The task id is in X-Task-Id. " +
    "The body chooses what to sync, as for POST /api/emails/sync (ignored with `taskId`).",
  query: z.object({
    taskId: z
      .union([z.string(), z.array(z.string())])
      // Given twice, the values joined match no task: 404.
      .transform(String)
      .optional()
      .meta({ description: "Take over this task (a client whose worker died); never starts another." }),
  }),
  body: SyncOptionsBody,
  codes: BODY_CODES,
  responses: {
    200: {
      description: "One TaskSnapshot per line until the task finishes or the client leaves",
      mediaType: "application/x-ndjson",
      itemSchema: TaskSnapshotSchema,
      headers: { "X-Task-Id": "The task this stream runs or follows" },
    },
    400: error("invalid_newer_than_days, invalid_label_ids, or invalid_request"),
    404: error("not_found: no such task of this user"),
    409: error("sync_in_progress: the user's open sync covers other options; `taskId` names it"),
    429: error("rate_limited: too many syncs, or too many streams open at once"),
  },
});
