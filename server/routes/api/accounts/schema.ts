import { z } from "zod";
import {
  AccountHealthSchema,
  AccountListSchema,
  SyncAcceptedSchema,
} from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

const accountId = z.object({ id: z.string().min(1).max(100) });
const notFound = error("not_found: no such account of this user");

export const listAccounts = route({
  method: "get",
  path: "/api/accounts",
  tag: "accounts",
  auth: "session_or_token",
  scope: "read",
  summary: "The Gmail accounts of the signed-in person, each with its state, last sync and message count",
  responses: { 200: json(AccountListSchema, "The accounts, oldest first") },
});

export const accountHealth = route({
  method: "get",
  path: "/api/accounts/:id/health",
  tag: "accounts",
  auth: "session_or_token",
  scope: "read",
  summary:
    "One account's health: last sync and its kind, Gmail push, history cursor age, messages here and at Gmail, today's quota, and what needs a person",
  params: accountId,
  responses: { 200: json(AccountHealthSchema, "The account's health"), 404: notFound },
});

export const renewWatch = route({
  method: "post",
  path: "/api/accounts/:id/watch",
  tag: "accounts",
  auth: "session_or_token",
  scope: "sync",
  summary:
    "Renew the account's Gmail push watch now (the hourly renewal does the same), and answer its health",
  params: accountId,
  responses: {
    200: json(AccountHealthSchema, "Renewed; the account's health after it"),
    401: error("reauth_required: Gmail refuses the account's grant; sign in again"),
    404: notFound,
    409: error("push_disabled: Gmail push is not set up in this deployment"),
    502: error("gmail_unavailable: Gmail refused or failed the watch; the health counts it"),
  },
});

export const startCheck = route({
  method: "post",
  path: "/api/accounts/:id/check",
  tag: "accounts",
  auth: "session_or_token",
  scope: "sync",
  summary:
    "Start a completeness check of the account: every id Gmail lists compared with what is stored, both ways repaired",
  description:
    "A task like a sync (follow it by socket, status URL or stream). It lists the ids of what the mirror covers " +
    "(`messages.list`, 5 units a page of 500) and fetches only what is missing; what Gmail no longer has is removed. " +
    "Its result's `added` were missing and its `deleted` were gone at Gmail; the account's health keeps both. " +
    "An open check is joined; an open sync of anything else answers 409 `sync_in_progress`. On 503 `no_workers` the " +
    "check is created and `fallback` runs it in a stream.",
  params: accountId,
  responses: {
    202: json(SyncAcceptedSchema, "The check's task"),
    401: error("reauth_required: Gmail refuses the account's grant; sign in again"),
    404: notFound,
    409: error("sync_in_progress: a sync is open for the account; `taskId` names it"),
    503: error("queue_unavailable or no_workers, with `fallback`: the stream that runs this check"),
  },
});
