/**
 * The Gmail v1 routes under /gmail/v1/users/{userId}/: profile, messages (list, get), threads
 * (get), history, labels (list, get), attachments, watch, stop. Each call runs: fault injection → authentication → user check → quota → answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApiError, gmailErrors } from "./errors";
import { applyFields, parseFields } from "./fields";
import { type Route, resolve } from "./gmailRoutes";
import type { HistoryRecord, HistoryType, Mailbox, MessageRecord } from "./Mailbox";
import { getMessage, getThread } from "./messageFormat";
import { findAttachment, gmailBase64url } from "./mime";
import type { AccessToken } from "./oauth";
import { isTopicName } from "./push";
import { parseQuery } from "./query";
import { readJsonObject, repeatedParam, sendApiError, sendJson } from "./respond";
import type { SimulatorState } from "./state";

export const GMAIL_PREFIX = "/gmail/v1/users/";

const HISTORY_TYPES = new Set<HistoryType>(["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]);

/** Answers a request whose path starts with /gmail/v1/users/. */
export function handleGmailApi(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): void {
  const route = resolve(req.method ?? "GET", path.slice(GMAIL_PREFIX.length));
  if (!route) {
    sendApiError(res, gmailErrors.notFound());
    return;
  }
  state.stats.call(route.method);
  if (req.method === "POST") {
    readJsonObject(req).then(
      (body) => afterLatency(state, req, res, route, query, body),
      () => sendApiError(res, gmailErrors.invalidArgument("Invalid JSON payload received.")),
    );
    return;
  }
  afterLatency(state, req, res, route, query, {});
}

function afterLatency(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  query: URLSearchParams,
  body: Record<string, unknown>,
): void {
  const latency = state.faults.latencyMs;
  if (latency > 0) {
    setTimeout(() => {
      if (!res.destroyed && !res.writableEnded) serve(state, req, res, route, query, body);
    }, latency);
  } else {
    serve(state, req, res, route, query, body);
  }
}

/** An injected fault, answered (or the socket reset); false when the draw gave none. */
function injectFault(state: SimulatorState, req: IncomingMessage, res: ServerResponse): boolean {
  const fault = state.faults.draw();
  if (!fault) return false;
  state.stats.fault(fault);
  if (fault === "reset") {
    req.socket.destroy();
    return true;
  }
  if (fault === "500") {
    sendApiError(res, gmailErrors.backendError());
    return true;
  }
  const error = fault === "429" ? gmailErrors.rateLimited() : gmailErrors.unavailable();
  const headers = state.faults.retryAfterHeaders();
  sendApiError(res, headers ? { ...error, headers: { ...error.headers, ...headers } } : error);
  return true;
}

/** The caller's mailbox once token, scope, user id and quota all admit the call; else the refusal. */
function admit(state: SimulatorState, req: IncomingMessage, route: Route): Mailbox | ApiError {
  const access = authenticate(state, req);
  if (!access) return gmailErrors.unauthenticated();
  const scope = access.grant.scope;
  if (!scope.includes("gmail") && !scope.includes("mail.google.com")) return gmailErrors.insufficientScope();
  const email = access.grant.email;
  if (route.userId !== "me" && route.userId.toLowerCase() !== email) {
    return gmailErrors.delegationDenied(route.userId);
  }
  const mailbox = state.accounts.get(email);
  if (!mailbox) return gmailErrors.unauthenticated();
  const verdict = state.quota.charge(email, route.method);
  if (!verdict.ok) {
    state.stats.reject(route.method, verdict.reason, verdict.cost);
    return gmailErrors.quotaRefused(verdict.reason, state.quota.current.rateLimitStatus);
  }
  state.stats.spend(route.method, verdict.cost);
  return mailbox;
}

/** Sends an answer: 204 when it has no body, else the body cut to `fields` when asked. */
function sendAnswer(res: ServerResponse, answer: { body?: unknown }, query: URLSearchParams): void {
  if (answer.body === undefined) {
    res.writeHead(204, { "Cache-Control": "private" });
    res.end();
    return;
  }
  let body: unknown = answer.body;
  const fields = query.get("fields");
  if (fields) {
    try {
      body = applyFields(body as NonNullable<unknown>, parseFields(fields));
    } catch (error) {
      sendApiError(
        res,
        gmailErrors.invalidArgument(error instanceof Error ? error.message : "Invalid fields"),
      );
      return;
    }
  }
  sendJson(res, 200, body);
}

function serve(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  query: URLSearchParams,
  requestBody: Record<string, unknown>,
): void {
  if (injectFault(state, req, res)) return;
  const mailbox = admit(state, req, route);
  if (isError(mailbox)) {
    sendApiError(res, mailbox);
    return;
  }
  const answer = answerFor(state, mailbox, route, query, requestBody);
  if ("httpStatus" in answer) {
    sendApiError(res, answer);
    return;
  }
  if (route.method === "messages.get") state.stats.serve("messages.get", mailbox.email, [route.id!]);
  if (route.method === "threads.get") {
    const { messages } = answer.body as { messages: Array<{ id: string }> };
    state.stats.serve(
      "threads.get",
      mailbox.email,
      messages.map((m) => m.id),
    );
  }
  sendAnswer(res, answer, query);
}

function authenticate(state: SimulatorState, req: IncomingMessage): AccessToken | undefined {
  const header = req.headers.authorization;
  if (header && header.length > 7 && header.slice(0, 7).toLowerCase() === "bearer ") {
    return state.oauth.authenticate(header.slice(7).trim());
  }
  return undefined;
}

function answerFor(
  state: SimulatorState,
  mailbox: Mailbox,
  route: Route,
  query: URLSearchParams,
  requestBody: Record<string, unknown>,
): { body: unknown } | ApiError {
  switch (route.method) {
    case "users.getProfile":
      return {
        body: {
          emailAddress: mailbox.email,
          messagesTotal: mailbox.messagesTotal,
          threadsTotal: mailbox.threadsTotal,
          historyId: String(mailbox.historyId),
        },
      };
    case "messages.list":
      return listMessages(state, mailbox, query);
    case "messages.get":
      return getMessage(mailbox, route.id!, query);
    case "threads.get":
      return getThread(mailbox, route.id!, query);
    case "history.list":
      return listHistory(mailbox, query);
    case "labels.list":
      return { body: { labels: mailbox.labels() } };
    case "messages.attachments.get": {
      const record = mailbox.find(route.id!);
      if (!record) return gmailErrors.notFound();
      const part = findAttachment(mailbox.content(record).root, record.id, route.attachmentId!);
      if (!part) return gmailErrors.invalidArgument("Invalid attachment token");
      return { body: { size: part.data.length, data: gmailBase64url(part.data) } };
    }
    case "users.watch":
      return watch(state, mailbox, requestBody);
    case "users.stop":
      state.push.stop(mailbox.email);
      return { body: undefined };
    case "labels.get": {
      const label = mailbox.label(route.id!);
      if (!label) return gmailErrors.notFound();
      return { body: { ...label, ...mailbox.labelCounts(label.id) } };
    }
  }
}

/** maxResults: default 100, values above 500 capped to 500. */
function maxResults(query: URLSearchParams): number | ApiError {
  const raw = query.get("maxResults");
  if (raw === null || raw === "") return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    return gmailErrors.invalidArgument(`Invalid value at 'max_results' (TYPE_UINT32), "${raw}"`);
  }
  if (n === 0) return 100;
  return Math.min(n, 500);
}

function pageTokenValue(query: URLSearchParams): number | undefined | ApiError {
  const raw = query.get("pageToken");
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw)) return gmailErrors.invalidArgument("Invalid pageToken");
  return Number(raw);
}

function isError(value: unknown): value is ApiError {
  return typeof value === "object" && value !== null && "httpStatus" in value;
}

function listMessages(
  state: SimulatorState,
  mailbox: Mailbox,
  query: URLSearchParams,
): { body: unknown } | ApiError {
  const limit = maxResults(query);
  if (isError(limit)) return limit;
  const beforeSeq = pageTokenValue(query);
  if (isError(beforeSeq)) return beforeSeq;
  const q = query.get("q");
  const parsed = q ? parseQuery(q, state.now()) : undefined;
  const result = mailbox.list({
    labelIds: repeatedParam(query, "labelIds"),
    includeSpamTrash: query.get("includeSpamTrash") === "true" || parsed?.includeSpamTrash === true,
    ...(parsed?.match ? { match: parsed.match, matchKey: parsed.key } : {}),
    ...(beforeSeq === undefined ? {} : { beforeSeq }),
    maxResults: limit,
  });
  // Gmail's key order: messages, nextPageToken, resultSizeEstimate; no `messages` key on an empty page.
  const body: {
    messages?: { id: string; threadId: string }[];
    nextPageToken?: string;
    resultSizeEstimate?: number;
  } = {};
  if (result.messages.length > 0)
    body.messages = result.messages.map((m) => ({ id: m.id, threadId: m.threadId }));
  if (result.nextBeforeSeq !== undefined) body.nextPageToken = String(result.nextBeforeSeq);
  body.resultSizeEstimate = result.resultSizeEstimate;
  return { body };
}

const LABEL_FILTER_BEHAVIORS = new Set(["include", "exclude"]);

/** users.watch: `{topicName, labelIds?, labelFilterBehavior?}` → `{historyId, expiration}`. */
function watch(
  state: SimulatorState,
  mailbox: Mailbox,
  body: Record<string, unknown>,
): { body: unknown } | ApiError {
  if (!isTopicName(body.topicName)) {
    return gmailErrors.invalidArgument(
      "Invalid topicName does not match projects/SOME_PROJECT/topics/SOME_TOPIC",
    );
  }
  const labelIds = body.labelIds ?? [];
  if (!Array.isArray(labelIds) || !labelIds.every((l) => typeof l === "string")) {
    return gmailErrors.invalidArgument("Invalid value at 'label_ids'");
  }
  // labelFilterAction is the older name of labelFilterBehavior; the new one wins when both are given.
  const behavior = body.labelFilterBehavior ?? body.labelFilterAction ?? "include";
  if (typeof behavior !== "string" || !LABEL_FILTER_BEHAVIORS.has(behavior.toLowerCase())) {
    return gmailErrors.invalidArgument(`Invalid value at 'label_filter_behavior', "${String(behavior)}"`);
  }
  if (!state.push.settings.topicPublishable) return gmailErrors.topicNotPublishable(body.topicName);
  const made = state.push.watch(mailbox.email, {
    topicName: body.topicName,
    labelIds: labelIds as string[],
    labelFilterBehavior: behavior.toLowerCase() as "include" | "exclude",
    historyId: mailbox.historyId,
  });
  return { body: { historyId: String(made.historyId), expiration: String(made.expiration) } };
}

function ref(record: HistoryRecord): { id: string; threadId: string } {
  return { id: record.messageId, threadId: record.threadId };
}

function historyEntry(record: HistoryRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: String(record.id), messages: [ref(record)] };
  const withLabels = { ...ref(record), labelIds: record.labelIds };
  switch (record.type) {
    case "messageAdded":
      entry.messagesAdded = [{ message: withLabels }];
      break;
    case "messageDeleted":
      entry.messagesDeleted = [{ message: ref(record) }];
      break;
    case "labelAdded":
      entry.labelsAdded = [{ message: withLabels, labelIds: record.changed }];
      break;
    case "labelRemoved":
      entry.labelsRemoved = [{ message: withLabels, labelIds: record.changed }];
      break;
  }
  return entry;
}

function listHistory(mailbox: Mailbox, query: URLSearchParams): { body: unknown } | ApiError {
  const rawStart = query.get("startHistoryId");
  if (rawStart === null || rawStart === "") {
    return gmailErrors.invalidArgument("Missing required parameter: startHistoryId");
  }
  if (!/^\d{1,18}$/.test(rawStart))
    return gmailErrors.invalidArgument(`Invalid value for startHistoryId: ${rawStart}`);
  const limit = maxResults(query);
  if (isError(limit)) return limit;
  const afterId = pageTokenValue(query);
  if (isError(afterId)) return afterId;
  const typeNames = repeatedParam(query, "historyTypes");
  for (const name of typeNames) {
    if (!HISTORY_TYPES.has(name as HistoryType)) {
      return gmailErrors.invalidArgument(`Invalid value at 'history_types', "${name}"`);
    }
  }
  const labelId = query.get("labelId") ?? undefined;
  const result = mailbox.listHistory({
    startHistoryId: Number(rawStart),
    ...(afterId === undefined ? {} : { afterId }),
    maxResults: limit,
    ...(typeNames.length > 0 ? { types: new Set(typeNames as HistoryType[]) } : {}),
    ...(labelId ? { labelId } : {}),
  });
  if (result.tooOld) return gmailErrors.notFound();
  return {
    body: {
      ...(result.records.length > 0 ? { history: result.records.map(historyEntry) } : {}),
      ...(result.nextAfterId !== undefined ? { nextPageToken: String(result.nextAfterId) } : {}),
      historyId: String(result.historyId),
    },
  };
}

/** Answers the ids of a message list (used by the control API too). */
export function messageSummary(record: MessageRecord): {
  id: string;
  threadId: string;
  labelIds: readonly string[];
  historyId: string;
  internalDate: string;
} {
  return {
    id: record.id,
    threadId: record.threadId,
    labelIds: record.labels,
    historyId: String(record.historyId),
    internalDate: String(record.internalDate),
  };
}
