/**
 * The simulator's control API (JSON), for tests and benchmarks:
 *
 *   GET    /sim/accounts                              every account's summary
 *   POST   /sim/accounts {email, count, sub?, threading?}   create, or reset (grants revoked); `sub`
 *                                                     sets the account's stable id (409 if another holds
 *                                                     it); `threading: "mixed"` seeds threads of 1-20
 *                                                     messages, most 1-3 (default "chained")
 *   GET    /sim/accounts/:email                       {email, messagesTotal, threadsTotal, historyId, historyFloor}
 *   DELETE /sim/accounts/:email                       remove the account
 *   GET    /sim/accounts/:email/messages?limit=       newest first: {id, threadId, labelIds, historyId, internalDate}
 *   POST   /sim/accounts/:email/messages {count, labelIds?}   new messages arrive
 *   DELETE /sim/accounts/:email/messages/:id          a message is deleted
 *   POST   /sim/accounts/:email/messages/:id/labels {add, remove}
 *   POST   /sim/accounts/:email/expire-history        older startHistoryIds answer 404
 *   POST   /sim/accounts/:email/revoke                every grant of the account is revoked
 *   PUT    /sim/faults, GET /sim/faults, DELETE /sim/faults
 *   PUT    /sim/quota {profile?, …limits, costs?, rateLimitStatus?}, GET (with usage), DELETE
 *   PUT    /sim/batch {status: 404|405|501|null}, GET, DELETE   make the batch endpoint refuse
 *   GET    /sim/stats, DELETE /sim/stats                 (with the pushes sent)
 *   PUT    /sim/push {endpoint, audience, …}, GET, DELETE   where mail-change pushes go
 *   GET|PUT /sim/accounts/:email/watch {expiration | expiresInMs}   the live watch; move its end
 *   POST   /sim/accounts/:email/push {count}          send notifications now
 *   PUT    /sim/clock {offsetMs | now}, GET, DELETE   Gmail's clock (q ages, arrivals, watches)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { accounts } from "./controlAccounts";
import * as settings from "./controlSettings";
import { ControlError, type ControlRequest, type MethodTable, type Reply } from "./controlShared";
import { controlError } from "./errors";
import { BodyError, MAX_RAW_BODY_BYTES, readJsonObject, sendJson } from "./respond";
import type { SimulatorState } from "./state";

/** The simulator-wide resources: no path below their name. */
const settingsResources = new Map<string | undefined, MethodTable>([
  ["faults", settings.faults],
  ["quota", settings.quota],
  ["batch", settings.batch],
  ["stats", settings.stats],
  ["push", settings.push],
  ["clock", settings.clock],
]);

async function route(
  state: SimulatorState,
  method: string,
  parts: string[],
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<Reply> {
  const [resource, below] = parts;
  // The body is read before routing, so a bad body is a 400 whatever the path.
  const body = method === "POST" || method === "PUT" ? await readJsonObject(req, MAX_RAW_BODY_BYTES) : {};
  const request: ControlRequest = { state, method, parts, body, query };
  let reply: Reply | undefined;
  if (resource === "accounts") reply = await accounts(request);
  else if (below === undefined) reply = await settingsResources.get(resource)?.[method]?.(request);
  if (reply) return reply;
  throw new ControlError(404, "not_found", `No control route ${method} /sim/${parts.join("/")}.`);
}

/** Answers a request whose path starts with /sim/. */
export async function handleControl(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<void> {
  const parts = path.slice("/sim/".length).split("/").filter(Boolean);
  try {
    const [status, body] = await route(state, req.method ?? "GET", parts, req, query);
    sendJson(res, status, body);
  } catch (error) {
    if (error instanceof ControlError) {
      sendJson(res, error.status, controlError(error.code, error.message));
    } else if (error instanceof BodyError) {
      sendJson(res, error.status, controlError("invalid_body", error.message));
    } else {
      sendJson(res, 500, controlError("internal", error instanceof Error ? error.message : String(error)));
    }
  }
}
