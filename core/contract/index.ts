import type { z } from "zod";
import type * as schemas from "./schemas";

/**
 * The outside contract: every shape the server sends and the browser app and the CLI read, in one
 * place. The types below are those of the zod schemas in ./schemas.ts (which the routes declare
 * and the OpenAPI document is generated from), imported as types only: nothing of zod reaches
 * the browser bundle. The task snapshot and the socket events (and their small helpers) live in
 * ../events.ts and are re-exported here.
 */
export * from "../auth/scopes";
export * from "../changeTypes";
export * from "../events";

/** Every 4xx/5xx body: `{"error":{"code":"snake_case","message":"…"}}`, sometimes with `fallback`. */
export type ApiError = z.infer<typeof schemas.ApiErrorSchema>;
export type EmailSummary = z.infer<typeof schemas.EmailSummarySchema>;
export type EmailDetail = z.infer<typeof schemas.EmailDetailSchema>;
export type EmailPage = z.infer<typeof schemas.EmailPageSchema>;
export type Attachment = z.infer<typeof schemas.AttachmentSchema>;
export type Label = z.infer<typeof schemas.LabelSchema>;
/** `GET /api/labels` */
export type LabelList = z.infer<typeof schemas.LabelListSchema>;
export type LabelCount = z.infer<typeof schemas.LabelCountSchema>;
/** What a sync covers: the body of `POST /api/emails/sync`; `{}` is the whole mailbox. */
export type SyncOptions = z.infer<typeof schemas.SyncOptionsSchema>;
/** `GET /api/me` */
export type Me = z.infer<typeof schemas.MeSchema>;
/** The 202 of `POST /api/emails/sync`. */
export type SyncAccepted = z.infer<typeof schemas.SyncAcceptedSchema>;
export type TokenInfo = z.infer<typeof schemas.TokenInfoSchema>;
/** `GET /api/accounts` */
export type AccountList = z.infer<typeof schemas.AccountListSchema>;
export type Account = z.infer<typeof schemas.AccountSchema>;
/** `GET /api/accounts/:id/health` */
export type AccountHealthView = z.infer<typeof schemas.AccountHealthSchema>;
/** One change of `GET /api/changes`. */
export type Change = z.infer<typeof schemas.ChangeSchema>;
/** `GET /api/changes` */
export type ChangePage = z.infer<typeof schemas.ChangePageSchema>;
export type TokenList = z.infer<typeof schemas.TokenListSchema>;
/** The 201 of `POST /api/tokens`: the token with its secret, shown this once. */
export type CreatedToken = z.infer<typeof schemas.CreatedTokenSchema>;
