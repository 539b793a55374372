/**
 * The control API's /sim/accounts tree: accounts, their messages and labels, history expiry,
 * the live watch, pushes on demand and grant revocation.
 */

import {
  badRequest,
  ControlError,
  type ControlRequest,
  count,
  decode,
  labelList,
  type MethodTable,
  mailboxOf,
  type Reply,
  rawMessage,
  summary,
  watchBody,
} from "./controlShared";
import { messageSummary } from "./gmailApi";
import { isSub } from "./identity";
import { type Mailbox, THREADINGS, type Threading } from "./Mailbox";
import { attachmentsOf } from "./mime";
import { isEmail, MAX_MESSAGES_PER_ACCOUNT } from "./state";

type Handled = Reply | undefined | Promise<Reply | undefined>;

const accountList: MethodTable = {
  GET: ({ state }) => [200, { accounts: [...state.accounts.values()].map((m) => summary(m, state)) }],
  POST: ({ state, body }) => {
    if (!isEmail(body.email)) throw badRequest("email must be an email address.");
    if (body.sub !== undefined && !isSub(body.sub)) throw badRequest("sub must be a string of digits.");
    const holder = body.sub === undefined ? undefined : state.identities.holder(body.sub);
    if (holder !== undefined && holder !== body.email.trim().toLowerCase()) {
      throw new ControlError(409, "sub_taken", `The account ${holder} has sub ${body.sub}.`);
    }
    if (body.threading !== undefined && !THREADINGS.includes(body.threading as Threading))
      throw badRequest(`threading must be one of ${THREADINGS.join(", ")}.`);
    const mailbox = state.createAccount(
      body.email,
      count(body.count ?? 0, "count", 0, MAX_MESSAGES_PER_ACCOUNT),
      body.sub,
      body.threading as Threading | undefined,
    );
    return [201, summary(mailbox, state)];
  },
};

const account: MethodTable<[string]> = {
  GET: ({ state }, email) => [200, summary(mailboxOf(state, email), state)],
  DELETE: ({ state }, email) => {
    mailboxOf(state, email);
    state.deleteAccount(email);
    return [200, { deleted: email.toLowerCase() }];
  },
};

/** Adds one raw RFC 822 message, or `count` generated ones, and pushes the change. */
function addMessages({ state, body }: ControlRequest, mailbox: Mailbox): Reply {
  const labelIds = body.labelIds === undefined ? undefined : labelList(body.labelIds, "labelIds");
  if (body.raw !== undefined) {
    if (body.count !== undefined) throw badRequest("Give either raw or count, not both.");
    const record = mailbox.addRawMessage(rawMessage(body.raw), labelIds);
    state.push.changed(mailbox.email, mailbox.historyId, record.labels);
    return [
      201,
      { ids: [record.id], messages: [messageSummary(record)], historyId: String(mailbox.historyId) },
    ];
  }
  const added = mailbox.addMessages(count(body.count ?? 1, "count", 1, 100_000), labelIds);
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

const messageList: MethodTable<[Mailbox]> = {
  GET: ({ query }, mailbox) => {
    const rawLimit = query.get("limit");
    const limit = rawLimit ? Number(rawLimit) : Number.POSITIVE_INFINITY;
    if (!(limit > 0)) throw badRequest("limit must be a positive integer.");
    const messages = mailbox
      .newestFirst(limit)
      .map((m) => ({ ...messageSummary(m), features: mailbox.features(m) }));
    return [200, { messages, historyId: String(mailbox.historyId) }];
  },
  POST: addMessages,
};

const missing = (mailbox: Mailbox, messageId: string) =>
  new ControlError(404, "message_not_found", `No message ${messageId} in ${mailbox.email}.`);

const message: MethodTable<[Mailbox, string]> = {
  GET: (_req, mailbox, messageId) => {
    const record = mailbox.find(messageId);
    if (!record) throw missing(mailbox, messageId);
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
  },
  DELETE: ({ state }, mailbox, messageId) => {
    const record = mailbox.deleteMessage(messageId);
    if (!record) throw missing(mailbox, messageId);
    state.push.changed(mailbox.email, mailbox.historyId, record.labels);
    return [200, { deleted: record.id, historyId: String(mailbox.historyId) }];
  },
};

/** Changes a message's labels; pushes only when the history moved (a no-op change does not). */
function modifyLabels({ state, body }: ControlRequest, mailbox: Mailbox, messageId: string): Reply {
  const add = labelList(body.add, "add");
  const remove = labelList(body.remove, "remove");
  const before = mailbox.historyId;
  const labelsBefore = mailbox.find(messageId)?.labels ?? [];
  const record = mailbox.modifyLabels(messageId, add, remove);
  if (!record) throw missing(mailbox, messageId);
  if (mailbox.historyId !== before) {
    state.push.changed(mailbox.email, mailbox.historyId, [...new Set([...labelsBefore, ...record.labels])]);
  }
  return [200, { id: record.id, labelIds: record.labels, historyId: String(mailbox.historyId) }];
}

/** /messages and /messages/:id[/labels]; the account must exist whatever the method. */
function messages(req: ControlRequest, email: string): Handled {
  const [, , , id, leaf] = req.parts;
  const mailbox = mailboxOf(req.state, email);
  if (id === undefined) return messageList[req.method]?.(req, mailbox);
  const messageId = decode(id);
  if (leaf === undefined) return message[req.method]?.(req, mailbox, messageId);
  if (leaf === "labels" && req.method === "POST") return modifyLabels(req, mailbox, messageId);
  return undefined;
}

/** The live watch: read it, or (PUT) move its end. */
function watch(req: ControlRequest, email: string): Handled {
  const { state, method, body } = req;
  if (req.parts[3] !== undefined) return undefined;
  const mailbox = mailboxOf(state, email);
  if (method !== "GET" && method !== "PUT") return undefined;
  if (method === "PUT") {
    const expiration =
      body.expiresInMs !== undefined
        ? state.now() + count(body.expiresInMs, "expiresInMs", 0, 30 * 86_400_000)
        : count(body.expiration, "expiration", 0, Number.MAX_SAFE_INTEGER);
    state.push.setExpiration(mailbox.email, expiration);
  }
  const live = state.push.watchOf(mailbox.email);
  if (!live) throw new ControlError(404, "watch_not_found", `${mailbox.email} has no live watch.`);
  return [200, watchBody(live)];
}

const accountActions = new Map<string, (req: ControlRequest, email: string) => Handled>([
  [
    "expire-history",
    ({ state, method }, email) => {
      if (method !== "POST") return undefined;
      const mailbox = mailboxOf(state, email);
      mailbox.expireHistory();
      return [200, { historyId: String(mailbox.historyId), historyFloor: String(mailbox.historyFloor) }];
    },
  ],
  [
    "push",
    ({ state, method, body }, email) => {
      if (method !== "POST") return undefined;
      const mailbox = mailboxOf(state, email);
      const n = count(body.count ?? 1, "count", 1, 1000);
      const topic = state.push.watchOf(mailbox.email)?.topicName ?? "projects/inbox-sync-sim/topics/gmail";
      const sent = [];
      for (let i = 0; i < n; i++) sent.push(state.push.publish(mailbox.email, mailbox.historyId, topic));
      return [200, { sent: sent.map((p) => p.messageId), historyId: String(mailbox.historyId) }];
    },
  ],
  [
    "revoke",
    ({ state, method }, email) => {
      if (method !== "POST") return undefined;
      const mailbox = mailboxOf(state, email);
      return [200, { revoked: state.oauth.revokeAccount(mailbox.email) }];
    },
  ],
  ["messages", messages],
  ["watch", watch],
]);

/** Everything under /sim/accounts. */
export function accounts(req: ControlRequest): Handled {
  const [, emailPart, sub] = req.parts;
  if (emailPart === undefined) return accountList[req.method]?.(req);
  const email = decode(emailPart);
  if (sub === undefined) return account[req.method]?.(req, email);
  return accountActions.get(sub)?.(req, email);
}
