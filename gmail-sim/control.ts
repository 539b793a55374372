/**
 * The simulator's control API (JSON), for tests and benchmarks:
 *
 *   GET    /sim/accounts                              every account's summary
 *   POST   /sim/accounts {email, count, sub?}         create, or reset (grants revoked); `sub` sets
 *                                                     the account's stable id (409 if another holds it)
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
import { controlError } from "./errors";
import { parseFaultSettings } from "./faults";
import { messageSummary } from "./gmailApi";
import { isSub } from "./identity";
import type { Mailbox } from "./Mailbox";
import { attachmentsOf } from "./mime";
import { parsePushSettings, type Watch } from "./push";
import { parseQuotaSettings } from "./quotaSettings";
import { BodyError, MAX_RAW_BODY_BYTES, readJsonObject, sendJson } from "./respond";
import { isEmail, MAX_MESSAGES_PER_ACCOUNT, type SimulatorState } from "./state";

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new ControlError(400, "invalid_request", message);

function summary(mailbox: Mailbox, state: SimulatorState) {
  return {
    email: mailbox.email,
    sub: state.identities.subOf(mailbox.email),
    messagesTotal: mailbox.messagesTotal,
    threadsTotal: mailbox.threadsTotal,
    historyId: String(mailbox.historyId),
    historyFloor: String(mailbox.historyFloor),
  };
}

function count(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

function labelList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.trim() !== "")) {
    throw badRequest(`${name} must be an array of label ids.`);
  }
  return value.map((v: string) => v.trim());
}

function watchBody(watch: Watch) {
  return {
    topicName: watch.topicName,
    labelIds: watch.labelIds,
    labelFilterBehavior: watch.labelFilterBehavior,
    historyId: String(watch.historyId),
    expiration: String(watch.expiration),
  };
}

function mapValues<T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

/** A raw RFC 822 message as Gmail's messages.insert takes it: base64url (or base64) of the bytes. */
function rawMessage(value: unknown): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/_=\r\n-]+$/.test(value)) {
    throw badRequest("raw must be the RFC 822 message in base64url (as Gmail's messages.insert takes it).");
  }
  const bytes = Buffer.from(value.replace(/\s+/g, ""), "base64");
  if (bytes.length === 0 || !/\r?\n\r?\n/.test(bytes.toString("latin1"))) {
    throw badRequest("raw must decode to an RFC 822 message: headers, a blank line, a body.");
  }
  if (bytes.length > 25 * 1024 * 1024) throw badRequest("raw is larger than Gmail's 25 MB.");
  return bytes;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`Malformed path segment: ${segment}`);
  }
}

function mailboxOf(state: SimulatorState, email: string): Mailbox {
  const mailbox = state.account(email);
  if (!mailbox) throw new ControlError(404, "account_not_found", `No account ${email} on this simulator.`);
  return mailbox;
}

async function route(
  state: SimulatorState,
  method: string,
  parts: string[],
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<[number, unknown]> {
  const [resource, emailPart, sub, id, leaf] = parts;
  const body = method === "POST" || method === "PUT" ? await readJsonObject(req, MAX_RAW_BODY_BYTES) : {};

  if (resource === "accounts") {
    if (emailPart === undefined) {
      if (method === "GET")
        return [200, { accounts: [...state.accounts.values()].map((m) => summary(m, state)) }];
      if (method === "POST") {
        if (!isEmail(body.email)) throw badRequest("email must be an email address.");
        if (body.sub !== undefined && !isSub(body.sub)) throw badRequest("sub must be a string of digits.");
        const holder = body.sub === undefined ? undefined : state.identities.holder(body.sub);
        if (holder !== undefined && holder !== body.email.trim().toLowerCase()) {
          throw new ControlError(409, "sub_taken", `The account ${holder} has sub ${body.sub}.`);
        }
        const mailbox = state.createAccount(
          body.email,
          count(body.count ?? 0, "count", 0, MAX_MESSAGES_PER_ACCOUNT),
          body.sub,
        );
        return [201, summary(mailbox, state)];
      }
    } else {
      const email = decode(emailPart);
      if (sub === undefined) {
        if (method === "GET") return [200, summary(mailboxOf(state, email), state)];
        if (method === "DELETE") {
          mailboxOf(state, email);
          state.deleteAccount(email);
          return [200, { deleted: email.toLowerCase() }];
        }
      } else if (sub === "messages" && id === undefined) {
        const mailbox = mailboxOf(state, email);
        if (method === "GET") {
          const rawLimit = query.get("limit");
          const limit = rawLimit ? Number(rawLimit) : Number.POSITIVE_INFINITY;
          if (!(limit > 0)) throw badRequest("limit must be a positive integer.");
          return [
            200,
            {
              messages: mailbox
                .newestFirst(limit)
                .map((m) => ({ ...messageSummary(m), features: mailbox.features(m) })),
              historyId: String(mailbox.historyId),
            },
          ];
        }
        if (method === "POST") {
          const labelIds = body.labelIds === undefined ? undefined : labelList(body.labelIds, "labelIds");
          if (body.raw !== undefined) {
            if (body.count !== undefined) throw badRequest("Give either raw or count, not both.");
            const bytes = rawMessage(body.raw);
            const record = mailbox.addRawMessage(bytes, labelIds);
            state.push.changed(mailbox.email, mailbox.historyId, record.labels);
            return [
              201,
              { ids: [record.id], messages: [messageSummary(record)], historyId: String(mailbox.historyId) },
            ];
          }
          const n = count(body.count ?? 1, "count", 1, 100_000);
          const added = mailbox.addMessages(n, labelIds);
          state.push.changed(mailbox.email, mailbox.historyId, [...new Set(added.flatMap((m) => m.labels))]);
          return [
            201,
            {
              ids: added.map((m) => m.id),
              messages: added.map(messageSummary),
              historyId: String(mailbox.historyId),
            },
          ];
        }
      } else if (sub === "messages" && id !== undefined) {
        const mailbox = mailboxOf(state, email);
        const messageId = decode(id);
        const missing = () =>
          new ControlError(404, "message_not_found", `No message ${messageId} in ${mailbox.email}.`);
        if (leaf === undefined && method === "GET") {
          const record = mailbox.find(messageId);
          if (!record) throw missing();
          const content = mailbox.content(record);
          return [
            200,
            {
              ...messageSummary(record),
              subject: content.subject,
              features: mailbox.features(record),
              text: content.text,
              html: content.html,
              attachments: attachmentsOf(content.root, record.id),
            },
          ];
        }
        if (leaf === undefined && method === "DELETE") {
          const record = mailbox.deleteMessage(messageId);
          if (!record) throw missing();
          state.push.changed(mailbox.email, mailbox.historyId, record.labels);
          return [200, { deleted: record.id, historyId: String(mailbox.historyId) }];
        }
        if (leaf === "labels" && method === "POST") {
          const add = labelList(body.add, "add");
          const remove = labelList(body.remove, "remove");
          const before = mailbox.historyId;
          const labelsBefore = mailbox.find(messageId)?.labels ?? [];
          const record = mailbox.modifyLabels(messageId, add, remove);
          if (!record) throw missing();
          if (mailbox.historyId !== before) {
            state.push.changed(mailbox.email, mailbox.historyId, [
              ...new Set([...labelsBefore, ...record.labels]),
            ]);
          }
          return [200, { id: record.id, labelIds: record.labels, historyId: String(mailbox.historyId) }];
        }
      } else if (sub === "expire-history" && method === "POST") {
        const mailbox = mailboxOf(state, email);
        mailbox.expireHistory();
        return [200, { historyId: String(mailbox.historyId), historyFloor: String(mailbox.historyFloor) }];
      } else if (sub === "watch" && id === undefined) {
        const mailbox = mailboxOf(state, email);
        if (method === "GET" || method === "PUT") {
          if (method === "PUT") {
            const expiration =
              body.expiresInMs !== undefined
                ? state.now() + count(body.expiresInMs, "expiresInMs", 0, 30 * 86_400_000)
                : count(body.expiration, "expiration", 0, Number.MAX_SAFE_INTEGER);
            state.push.setExpiration(mailbox.email, expiration);
          }
          const watch = state.push.watchOf(mailbox.email);
          if (!watch) throw new ControlError(404, "watch_not_found", `${mailbox.email} has no live watch.`);
          return [200, watchBody(watch)];
        }
      } else if (sub === "push" && method === "POST") {
        const mailbox = mailboxOf(state, email);
        const n = count(body.count ?? 1, "count", 1, 1000);
        const topic = state.push.watchOf(mailbox.email)?.topicName ?? "projects/inbox-sync-sim/topics/gmail";
        const sent = [];
        for (let i = 0; i < n; i++) sent.push(state.push.publish(mailbox.email, mailbox.historyId, topic));
        return [200, { sent: sent.map((p) => p.messageId), historyId: String(mailbox.historyId) }];
      } else if (sub === "revoke" && method === "POST") {
        const mailbox = mailboxOf(state, email);
        return [200, { revoked: state.oauth.revokeAccount(mailbox.email) }];
      }
    }
  } else if (resource === "faults" && emailPart === undefined) {
    if (method === "GET") return [200, state.faults.current];
    if (method === "PUT") {
      const settings = parseFaultSettings(body);
      if (typeof settings === "string") throw badRequest(settings);
      state.faults.set(settings);
      return [200, settings];
    }
    if (method === "DELETE") {
      state.faults.clear();
      return [200, state.faults.current];
    }
  } else if (resource === "quota" && emailPart === undefined) {
    if (method === "PUT") {
      const settings = parseQuotaSettings(body);
      if (typeof settings === "string") throw badRequest(settings);
      state.quota.set(settings);
    }
    if (method === "DELETE") state.quota.clear();
    if (method === "GET" || method === "PUT" || method === "DELETE") {
      return [200, { ...state.quota.current, usage: state.quota.usage() }];
    }
  } else if (resource === "batch" && emailPart === undefined) {
    if (method === "PUT") {
      if (body.status !== 404 && body.status !== 405 && body.status !== 501 && body.status !== null) {
        throw badRequest("status must be 404, 405 or 501 (or null to serve batches).");
      }
      state.batchRefusal = body.status;
    }
    if (method === "DELETE") state.batchRefusal = null;
    if (method === "GET" || method === "PUT" || method === "DELETE") {
      return [200, { status: state.batchRefusal }];
    }
  } else if (resource === "stats" && emailPart === undefined) {
    if (method === "GET" && query.get("settled") === "1") await state.push.settled();
    if (method === "GET") return [200, { ...state.stats.snapshot(), pushes: state.push.records() }];
    if (method === "DELETE") {
      state.stats.reset();
      state.push.clearRecords();
      return [200, { ...state.stats.snapshot(), pushes: [] }];
    }
  } else if (resource === "push" && emailPart === undefined) {
    if (method === "PUT") {
      const settings = parsePushSettings(body, state.push.settings);
      if (typeof settings === "string") throw badRequest(settings);
      state.push.settings = settings;
    }
    if (method === "DELETE") state.push.settings = { ...state.push.settings, endpoint: null, audience: null };
    if (method === "GET" || method === "PUT" || method === "DELETE") {
      return [200, { ...state.push.settings, watches: mapValues(state.push.watchesSnapshot(), watchBody) }];
    }
  } else if (resource === "clock" && emailPart === undefined) {
    if (method === "PUT") {
      if (body.offsetMs !== undefined) {
        if (typeof body.offsetMs !== "number" || !Number.isInteger(body.offsetMs)) {
          throw badRequest("offsetMs must be a whole number of milliseconds.");
        }
        state.clockOffsetMs = body.offsetMs;
      } else {
        const at =
          typeof body.now === "number"
            ? body.now
            : typeof body.now === "string"
              ? Date.parse(body.now)
              : Number.NaN;
        if (!Number.isFinite(at)) throw badRequest("Give offsetMs (ms) or now (ISO-8601 or epoch ms).");
        state.clockOffsetMs = 0;
        state.clockOffsetMs = Math.round(at - state.now());
      }
    }
    if (method === "DELETE") state.clockOffsetMs = 0;
    if (method === "GET" || method === "PUT" || method === "DELETE") {
      return [200, { now: new Date(state.now()).toISOString(), offsetMs: state.clockOffsetMs }];
    }
  }
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
