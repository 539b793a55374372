/** What the control API's handlers share: the error they throw and the checks on their input. */
import type { Mailbox } from "./Mailbox";
import type { Watch } from "./push";
import type { SimulatorState } from "./state";

export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A handler's answer: status and JSON body; `undefined` when no route matches. */
export type Reply = [number, unknown];

/** One control request, its JSON body already read. */
export interface ControlRequest {
  state: SimulatorState;
  method: string;
  parts: string[];
  body: Record<string, unknown>;
  query: URLSearchParams;
}

/** A resource's handlers by HTTP method. */
export type MethodTable<A extends unknown[] = []> = Partial<
  Record<string, (req: ControlRequest, ...args: A) => Reply | Promise<Reply>>
>;

export const badRequest = (message: string) => new ControlError(400, "invalid_request", message);

export function summary(mailbox: Mailbox, state: SimulatorState) {
  return {
    email: mailbox.email,
    sub: state.identities.subOf(mailbox.email),
    messagesTotal: mailbox.messagesTotal,
    threadsTotal: mailbox.threadsTotal,
    historyId: String(mailbox.historyId),
    historyFloor: String(mailbox.historyFloor),
  };
}

export function count(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

export function labelList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.trim() !== "")) {
    throw badRequest(`${name} must be an array of label ids.`);
  }
  return value.map((v: string) => v.trim());
}

export function watchBody(watch: Watch) {
  return {
    topicName: watch.topicName,
    labelIds: watch.labelIds,
    labelFilterBehavior: watch.labelFilterBehavior,
    historyId: String(watch.historyId),
    expiration: String(watch.expiration),
  };
}

export function mapValues<T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

/** A raw RFC 822 message as Gmail's messages.insert takes it: base64url (or base64) of the bytes. */
export function rawMessage(value: unknown): Buffer {
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

export function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`Malformed path segment: ${segment}`);
  }
}

export function mailboxOf(state: SimulatorState, email: string): Mailbox {
  const mailbox = state.account(email);
  if (!mailbox) throw new ControlError(404, "account_not_found", `No account ${email} on this simulator.`);
  return mailbox;
}
