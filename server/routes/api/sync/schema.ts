import { z } from "zod";
import { SyncAcceptedSchema, TaskSnapshotSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

export const startSync = route({
  method: "post",
  path: "/api/emails/sync",
  tag: "sync",
  auth: "session_or_token",
  summary: "Queue a sync of the user's mailbox (or join the one already open)",
  description:
    "Answers at once; follow the task on the socket (`task:subscribe`), by polling statusUrl, or, " +
    "on a 503, through the streaming fallback named in `fallback`.",
  responses: {
    202: json(SyncAcceptedSchema, "The task that will sync the mailbox"),
    429: error("rate_limited (Retry-After says when to try again)"),
    503: error("queue_unavailable or no_workers, with `fallback`: the streaming endpoint"),
  },
});

export const syncStatus = route({
  method: "get",
  path: "/api/emails/sync/status/:taskId",
  tag: "sync",
  auth: "session_or_token",
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
  summary: "Run the sync inside this request, one snapshot per NDJSON line (the fallback)",
  description:
    "For when no worker can take the task. While another runner holds the user's task the stream " +
    "follows it, and takes it over should that runner's lease lapse. The task id is in X-Task-Id.",
  query: z.object({
    taskId: z
      .union([z.string(), z.array(z.string())])
      // Given twice, the values joined match no task: 404, as before the schema existed.
      .transform(String)
      .optional()
      .meta({ description: "Take over this task (a client whose worker died); never starts another." }),
  }),
  responses: {
    200: {
      description: "One TaskSnapshot per line until the task finishes or the client leaves",
      mediaType: "application/x-ndjson",
      itemSchema: TaskSnapshotSchema,
      headers: { "X-Task-Id": "The task this stream runs or follows" },
    },
    404: error("not_found: no such task of this user"),
    429: error("rate_limited: too many syncs, or too many streams open at once"),
  },
});
