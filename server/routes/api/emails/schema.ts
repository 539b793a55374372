import { z } from "zod";
import { EmailDetailSchema, EmailPageSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

const LIMIT = "limit must be a whole number from 1 to 200";
const GMAIL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Gmail's message and thread ids: hex in practice, base64url-safe characters in the simulator. */
const gmailId = (what: string) =>
  z.string().regex(GMAIL_ID, `${what} is not a Gmail ${what === "threadId" ? "thread" : "message"} id`);

export const listEmails = route({
  method: "get",
  path: "/api/emails",
  tag: "emails",
  auth: "session_or_token",
  scope: "read",
  summary: "The user's stored emails, newest first (or best match first with q), a page at a time",
  query: z.object({
    limit: z.coerce
      .number({ error: LIMIT })
      .int(LIMIT)
      .min(1, LIMIT)
      .max(200, LIMIT)
      .default(50)
      .meta({ description: "Emails per page, 1 to 200." }),
    cursor: z.string().max(500, "cursor is not one this API issued").optional().meta({
      description:
        "The previous page's nextCursor, with the same q, label and threadId; anything else is 400 invalid_cursor.",
    }),
    q: z.string().trim().max(200, "q must be at most 200 characters").optional().meta({
      description:
        'Full-text search of subject, sender, snippet and body, best match first: words (all must match), "a phrase", a OR b, -word. When nothing matches as words (or q has none, e.g. "@"), a substring match on subject, sender and snippet answers instead.',
    }),
    label: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,128}$/, "label is not a Gmail label id")
      .optional()
      .meta({
        description:
          "Only emails carrying this Gmail label id (INBOX, STARRED, Label_1…; see GET /api/labels).",
      }),
    threadId: gmailId("threadId").optional().meta({ description: "Only the emails of this Gmail thread." }),
  }),
  codes: {
    limit: "invalid_limit",
    cursor: "invalid_cursor",
    q: "invalid_query",
    label: "invalid_label",
    threadId: "invalid_thread_id",
  },
  responses: {
    200: json(EmailPageSchema, "A page of emails"),
    400: error(
      "invalid_limit, invalid_cursor, invalid_query, invalid_label, invalid_thread_id, or invalid_request (a parameter given twice)",
    ),
  },
});

export const getEmail = route({
  method: "get",
  path: "/api/emails/:id",
  tag: "emails",
  auth: "session_or_token",
  scope: "read",
  summary: "One stored email: headers, text and HTML bodies, attachment listing",
  description:
    "`html` is the message's HTML exactly as its sender wrote it, scripts and all: sanitise it and " +
    "show it in a sandboxed frame (the browser app uses DOMPurify and `<iframe sandbox>`), never " +
    "inside a page of this origin. `text` and `html` are null when the message has no such part, " +
    "and for a message stored before bodies were kept until the next sync fetches it again.",
  params: z.object({ id: gmailId("id") }),
  codes: { id: "invalid_id" },
  responses: {
    200: json(EmailDetailSchema, "The email"),
    400: error("invalid_id"),
    404: error("not_found: no such email of this user"),
  },
});

export const getAttachment = route({
  method: "get",
  path: "/api/emails/:id/attachments/:attachmentId",
  tag: "emails",
  auth: "session_or_token",
  scope: "read",
  summary: "Download one attachment (fetched from Gmail on demand)",
  description:
    "Only an attachment the stored email lists is fetched: anything else is 404 without a call to " +
    "Gmail. The answer is always a download (`Content-Disposition: attachment`), with the stored " +
    "type as Content-Type, `X-Content-Type-Options: nosniff` and a sandboxing CSP, so an HTML or SVG " +
    "attachment never runs on this origin.",
  params: z.object({
    id: gmailId("id"),
    attachmentId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4096}$/, "attachmentId is not a Gmail attachment id")
      .meta({ description: "From the email's `attachments` (Gmail's ids are long opaque strings)." }),
  }),
  codes: { id: "invalid_id", attachmentId: "invalid_attachment_id" },
  responses: {
    200: {
      description: "The file's bytes",
      mediaType: "application/octet-stream",
      headers: {
        "Content-Disposition": "attachment; filename=\"…\"; filename*=UTF-8''… (RFC 6266)",
        "X-Content-Type-Options": "nosniff",
      },
    },
    400: error("invalid_id or invalid_attachment_id"),
    403: error("reauth_required: Gmail refused the stored grant; sign in again"),
    404: error(
      "not_found: no such email of this user, the email lists no such attachment, or Gmail no longer has it",
    ),
    502: error("gmail_unavailable: Gmail did not answer"),
  },
});
