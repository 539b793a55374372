import { z } from "zod";
import { SCOPE_MEANINGS, TOKEN_SCOPES } from "../auth/scopes";
import { CHANGE_TYPES } from "../changeTypes";
import type {
  RateLimiter,
  SubscribeAck,
  SyncMode,
  SyncPhase,
  TaskSnapshot,
  TaskState,
  WaitReason,
} from "../events";

/**
 * The contract's schemas: the routes declare their answers with them (each resource's schema.ts under server/routes)
 * and the OpenAPI document at /api/openapi.json is generated from them. Server-side only; the
 * browser app and the CLI import the types of the same names from ./index.ts. The task snapshot
 * and socket events are written as types in ../events.ts; their schemas are checked against them.
 */

const TASK_STATES = ["queued", "active", "completed", "failed"] as const satisfies readonly TaskState[];
const PHASES = ["listing", "fetching", "storing", "done"] as const satisfies readonly SyncPhase[];
const MODES = ["full", "incremental"] as const satisfies readonly SyncMode[];
const WAIT_REASONS = [
  "worker",
  "no_workers",
  "retry",
  "quota",
  "daily_budget",
] as const satisfies readonly WaitReason[];
const RATE_LIMITERS = [
  "user_quota",
  "project_quota",
  "daily_budget",
  "gmail",
] as const satisfies readonly RateLimiter[];

/** Every 4xx/5xx answer: a snake_case code and a sentence; some errors add fields (`fallback`). */
export const ApiErrorSchema = z
  .looseObject({
    error: z.strictObject({
      code: z.string().meta({ example: "invalid_limit" }),
      message: z.string(),
    }),
    fallback: z
      .string()
      .optional()
      .meta({ description: "503 queue_unavailable/no_workers: the streaming endpoint to use instead." }),
  })
  .meta({ id: "ApiError" });

export const TaskSnapshotSchema = z
  .strictObject({
    taskId: z.string(),
    state: z.enum(TASK_STATES),
    progress: z.strictObject({
      phase: z.enum(PHASES),
      processed: z.int().min(0),
      total: z.int().min(0),
      percent: z.number().min(0).max(100),
    }),
    result: z
      .object({ added: z.int(), updated: z.int(), deleted: z.int(), mode: z.enum(MODES) })
      .optional()
      .meta({ description: "Only when state is completed." }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .meta({ description: "Only when state is failed." }),
    createdAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    at: z.number().meta({ description: "When this snapshot was made, ms since the epoch." }),
    waiting: z
      .enum(WAIT_REASONS)
      .optional()
      .meta({ description: "Why an unfinished task is not moving; absent while it moves." }),
    retryAt: z.number().optional().meta({ description: "When the wait should end, ms since the epoch." }),
    rate: z
      .number()
      .min(0)
      .optional()
      .meta({ description: "Messages a second now, smoothed (0 while waiting); while the task runs." }),
    rateLimitedBy: z.enum(RATE_LIMITERS).nullable().optional().meta({
      description:
        "What holds the pace back now: the user's or project's per-minute quota, the project's daily budget, or Gmail refusing for rate; null when nothing does. While the task runs.",
    }),
    etaAt: z.number().optional().meta({
      description:
        "When the task is expected to finish, ms since the epoch, pauses included; absent while unknown and once finished.",
    }),
    unitsPerMessage: z.number().positive().optional().meta({
      description:
        "Quota units one message costs in the plan etaAt is made from: what this run has spent per message fetched (whole threads, listing and retries included), or messages.get's cost until it has measured.",
    }),
    seq: z.int().meta({ description: "Grows with every snapshot of one task: keep the highest seen." }),
  })
  .meta({ id: "TaskSnapshot" }) satisfies z.ZodType<TaskSnapshot>;

export const EmailSummarySchema = z
  .strictObject({
    id: z.string(),
    threadId: z.string(),
    from: z.string(),
    to: z.string(),
    subject: z.string(),
    snippet: z.string(),
    date: z.string().meta({ description: "ISO 8601" }),
    labels: z.array(z.string()),
    attachmentCount: z.int().min(0).meta({
      description:
        "How many attachments the message shows as files; inline images its HTML shows are not counted. 0 until its body is synced.",
    }),
  })
  .meta({ id: "EmailSummary" });

export const AttachmentSchema = z
  .strictObject({
    attachmentId: z
      .string()
      .meta({ description: "Gmail's id of the part: GET /api/emails/{id}/attachments/{attachmentId}" }),
    filename: z.string(),
    mimeType: z.string(),
    size: z.int().min(0).meta({ description: "Bytes, as Gmail reports them." }),
    contentId: z.string().optional().meta({
      description:
        "The part's Content-ID without angle brackets, for an inline image: the HTML body names it as cid:{contentId}. Absent for messages synced before it was kept.",
    }),
  })
  .meta({ id: "Attachment" });

export const EmailDetailSchema = EmailSummarySchema.extend({
  sizeEstimate: z.number(),
  historyId: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  text: z.string().nullable().meta({
    description:
      "The text/plain body decoded to UTF-8; null when the message has none (or it is not fetched yet).",
  }),
  html: z.string().nullable().meta({
    description:
      "The text/html body decoded to UTF-8, as the sender wrote it: unsanitised. Never insert it into a page; the browser app sanitises it and shows it in a sandboxed frame.",
  }),
  attachments: z.array(AttachmentSchema),
}).meta({ id: "EmailDetail" });

export const LabelSchema = z
  .strictObject({
    id: z.string().meta({ example: "Label_1" }),
    name: z.string(),
    type: z.enum(["system", "user"]),
    textColor: z
      .string()
      .optional()
      .meta({ description: "Gmail's colour of the label's text, when it has one." }),
    backgroundColor: z.string().optional(),
  })
  .meta({ id: "Label" });

export const LabelListSchema = z.strictObject({ labels: z.array(LabelSchema) }).meta({ id: "LabelList" });

/** `GET /api/labels/:id`: one label and how many stored messages carry it. */
export const LabelCountSchema = LabelSchema.extend({
  messages: z.int().min(0).meta({ description: "Stored messages carrying this label, counted when asked." }),
}).meta({ id: "LabelCount" });

/** What a sync covers (`POST /api/emails/sync` body, and the task's stored options). */
export const SyncOptionsSchema = z
  .strictObject({
    newerThanDays: z
      .int()
      .min(1)
      .max(36500)
      .optional()
      .meta({ description: "Only messages of the last N days (Gmail's newer_than:Nd)." }),
    labelIds: z
      .array(z.string())
      .max(50)
      .optional()
      .meta({ description: "Only messages carrying every one of these Gmail label ids (INBOX, Label_1…)." }),
  })
  .meta({ id: "SyncOptions" });

export const EmailPageSchema = z
  .strictObject({
    emails: z.array(EmailSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: "Pass as `cursor` for the next page; null at the end." }),
  })
  .meta({ id: "EmailPage" });

/** One change of the user's mirror (docs/changes.md). */
export const ChangeSchema = z
  .strictObject({
    seq: z
      .int()
      .min(1)
      .meta({ description: "The user's sequence number: strictly increasing, no gaps, in commit order." }),
    type: z.enum(CHANGE_TYPES).meta({
      description:
        "message.added, message.deleted, message.labels (the message's labels moved), account.state (connected, needs re-consent, or disconnected; read GET /api/me), sync.finished (a sync completed: the mirror is current to Gmail as of then)",
    }),
    accountId: z.string().meta({
      description: "The id of the Gmail account the change is in (today each user has one; it keeps its id).",
    }),
    messageId: z.string().optional().meta({ description: "The Gmail message id, on message.* changes." }),
    at: z.iso.datetime().meta({ description: "When the change was written." }),
  })
  .meta({ id: "Change" });

export const ChangePageSchema = z
  .strictObject({
    changes: z.array(ChangeSchema),
    next: z
      .int()
      .min(0)
      .meta({ description: "Pass as `since` next time: the last seq here, or `since` when none." }),
    more: z
      .boolean()
      .meta({ description: "More changes are already waiting after `next`: ask again at once." }),
  })
  .meta({ id: "ChangePage" });

export const MeSchema = z
  .strictObject({
    email: z.string(),
    lastSyncAt: z.string().nullable(),
    emailCount: z.int().min(0),
    gmailStatus: z.enum(["connected", "reauth_required", "disconnected"]),
    push: z.boolean().meta({
      description:
        "Gmail pushes changes of this account to the app (GMAIL_PUSH_TOPIC set, Gmail connected): new mail arrives within seconds.",
    }),
    nextCheckAt: z
      .string()
      .nullable()
      .meta({
        description:
          "Without push: about when the schedule (SYNC_SCHEDULE_INTERVAL_SECONDS) next syncs this account, never in the " +
          "past. Null with push, with no schedule, or when Gmail is not connected: then mail arrives only from a sync someone starts.",
      }),
    csrfToken: z.string().nullable().meta({
      description: "Send as X-CSRF-Token on writes made with the session cookie; null for API tokens.",
    }),
  })
  .meta({ id: "Me" });

/** What a task syncs: a chosen scope, or `current` for one nobody chose (a push, the schedule). */
export const TaskOptionsSchema = SyncOptionsSchema.extend({
  current: z.literal(true).optional().meta({
    description:
      "A sync nobody chose a scope for (a Gmail push, the schedule): it keeps what the mirror covers now.",
  }),
  check: z.literal(true).optional().meta({
    description:
      "A completeness check (POST /api/accounts/:id/check, or the weekly schedule): lists every id of what the mirror covers and repairs both ways; its result's `added` were missing, its `deleted` were gone at Gmail.",
  }),
}).meta({ id: "TaskOptions" });

/** 202 of `POST /api/emails/sync`. */
export const SyncAcceptedSchema = z
  .strictObject({
    taskId: z.string(),
    state: z.enum(TASK_STATES),
    statusUrl: z.string(),
    joined: z
      .boolean()
      .meta({ description: "True when the user's sync was already open and this joined it." }),
    /** What the task syncs; {} is the whole mailbox. */
    options: TaskOptionsSchema,
  })
  .meta({ id: "SyncAccepted" });

export const TokenScopeSchema = z.enum(TOKEN_SCOPES).meta({
  id: "TokenScope",
  description: Object.entries(SCOPE_MEANINGS)
    .map(([scope, meaning]) => `\`${scope}\`: ${meaning}`)
    .join(" "),
});

export const TokenInfoSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable().meta({
      description:
        "When it stops working. Every token issued has one; null only for one issued before expiries existed.",
    }),
    scopes: z.array(TokenScopeSchema).meta({ description: "What it may do" }),
  })
  .meta({ id: "TokenInfo" });

export const TokenListSchema = z.strictObject({ tokens: z.array(TokenInfoSchema) }).meta({ id: "TokenList" });

export const CreatedTokenSchema = TokenInfoSchema.extend({
  token: z
    .string()
    .meta({ description: "The secret, shown this once: send as `Authorization: Bearer <token>`." }),
}).meta({ id: "CreatedToken" });

/** The answer to a socket's `task:subscribe`. */
export const SubscribeAckSchema = z.union([
  z.strictObject({ ok: z.literal(true), snapshot: TaskSnapshotSchema }),
  z.strictObject({ ok: z.literal(false), error: z.strictObject({ code: z.string() }) }),
]) satisfies z.ZodType<SubscribeAck>;

const AccountStateSchema = z.enum(["connected", "reauth_required", "disconnected"]).meta({
  description:
    "`connected`: syncing. `reauth_required`: Gmail refuses the grant; sign in again. `disconnected`: the grant was revoked here; the mail stays.",
});

export const AccountSchema = z
  .strictObject({
    id: z
      .string()
      .meta({ description: "The account's id: `accountId` in health, checks and the change feed." }),
    email: z.string(),
    state: AccountStateSchema,
    lastSyncAt: z.string().nullable(),
    messages: z.int().min(0).meta({ description: "Messages stored here" }),
  })
  .meta({ id: "Account" });

export const AccountListSchema = z
  .strictObject({ accounts: z.array(AccountSchema) })
  .meta({ id: "AccountList" });

const when = z.string().nullable();

export const AccountHealthSchema = z
  .strictObject({
    accountId: z.string(),
    email: z.string(),
    state: AccountStateSchema,
    sync: z.strictObject({
      lastAt: when.meta({ description: "When the last sync completed" }),
      kind: z.enum(["full", "incremental"]).nullable(),
      cursorAgeSeconds: z.int().min(0).nullable().meta({
        description:
          "Since Gmail's history cursor last moved (the last completed sync). Gmail keeps history about a week; an older cursor makes the next sync list the mailbox.",
      }),
      lastFull: z
        .strictObject({
          at: z.string(),
          reason: z
            .enum(["first_sync", "history_expired", "scope_widened", "bodies_missing", "forced", "check"])
            .nullable()
            .meta({
              description:
                "Why it listed rather than replayed history (`history_expired`: Gmail had lost it)",
            }),
        })
        .nullable(),
    }),
    push: z.strictObject({
      state: z.enum(["off", "watching", "lapsed", "inactive"]).meta({
        description:
          "`off`: push is not set up here. `watching`: Gmail pushes until `watchedUntil`. `lapsed`: no watch is active; mail arrives only when a sync runs. `inactive`: the account is not connected.",
      }),
      watchedUntil: when,
      lastPushAt: when.meta({ description: "When Gmail last pushed a change of this mailbox" }),
      failedRenewals: z
        .int()
        .min(0)
        .meta({ description: "Watch renewals failed in a row since the last that worked" }),
      failingSince: when,
      lastError: z.string().nullable().meta({ description: "Gmail's words on the last failed renewal" }),
    }),
    messages: z.strictObject({
      here: z.int().min(0),
      gmailTotal: z.int().min(0).nullable().meta({
        description:
          "Gmail's messagesTotal when the last full sync began (all of the mailbox, drafts and chats included)",
      }),
      gmailTotalAt: when,
    }),
    check: z
      .strictObject({
        lastAt: z.string(),
        taskId: z.string(),
        missing: z.int().min(0).meta({ description: "Messages Gmail has that were not here (now fetched)" }),
        extra: z
          .int()
          .min(0)
          .meta({ description: "Messages kept here that Gmail no longer has (now removed)" }),
      })
      .nullable()
      .meta({ description: "The last completeness check and what it repaired; null before one" }),
    quota: z
      .strictObject({
        projectUnitsToday: z.int().min(0),
        projectUnitsPerDay: z.int().min(0),
        firstSyncUnitsToday: z
          .int()
          .min(0)
          .meta({ description: "Units this account's first sync took of today" }),
        resetsAt: z.string().meta({ description: "Google's daily reset, midnight Pacific Time" }),
      })
      .nullable()
      .meta({ description: "The project's daily Gmail budget today; null without a daily limit" }),
    attention: z
      .array(
        z.strictObject({
          code: z.enum([
            "reauth_required",
            "disconnected",
            "watch_lapsed",
            "watch_failing",
            "daily_budget_spent",
          ]),
          message: z.string(),
          action: z.string().meta({ description: "What to do about it" }),
        }),
      )
      .meta({ description: "What needs a person, most urgent first; empty when all is well" }),
  })
  .meta({ id: "AccountHealth" });
