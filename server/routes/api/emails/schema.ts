import { z } from "zod";
import { EmailDetailSchema, EmailPageSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

const LIMIT = "limit must be a whole number from 1 to 200";

export const listEmails = route({
  method: "get",
  path: "/api/emails",
  tag: "emails",
  auth: "session_or_token",
  summary: "The user's stored emails, newest first, a page at a time",
  query: z.object({
    limit: z.coerce
      .number({ error: LIMIT })
      .int(LIMIT)
      .min(1, LIMIT)
      .max(200, LIMIT)
      .default(50)
      .meta({ description: "Emails per page, 1 to 200." }),
    cursor: z
      .string()
      .max(500, "cursor is not one this API issued")
      .optional()
      .meta({ description: "The previous page's nextCursor; anything else is 400 invalid_cursor." }),
    q: z
      .string()
      .trim()
      .max(200, "q must be at most 200 characters")
      .optional()
      .meta({ description: "Words to find in subject, sender or snippet." }),
  }),
  codes: { limit: "invalid_limit", cursor: "invalid_cursor", q: "invalid_query" },
  responses: {
    200: json(EmailPageSchema, "A page of emails"),
    400: error("invalid_limit, invalid_cursor, invalid_query, or invalid_request (a parameter given twice)"),
  },
});

export const getEmail = route({
  method: "get",
  path: "/api/emails/:id",
  tag: "emails",
  auth: "session_or_token",
  summary: "One stored email with its headers",
  params: z.object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "id is not a Gmail message id"),
  }),
  codes: { id: "invalid_id" },
  responses: {
    200: json(EmailDetailSchema, "The email"),
    400: error("invalid_id"),
    404: error("not_found: no such email of this user"),
  },
});
