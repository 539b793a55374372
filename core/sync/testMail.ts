import type { gmail_v1 } from "@googleapis/gmail";
import type { MailMessage } from "./MailStore";

/** A stored message with `bodyChars` characters of plain-text body (for the fetch's unit tests). */
export function mail(id: string, bodyChars = 0): MailMessage {
  return {
    gmailId: id,
    threadId: id,
    from: "",
    to: "",
    subject: id,
    snippet: "",
    date: new Date(1_700_000_000_000),
    labels: ["INBOX"],
    sizeEstimate: bodyChars,
    historyId: null,
    headers: {},
    body: { text: "x".repeat(bodyChars), html: null, attachments: [] },
  };
}

/** A whole Gmail message as `messages.get` answers it, with `labels` and a plain-text body. */
export function gmailMessage(id: string, labels = ["INBOX"], bodyChars = 0): gmail_v1.Schema$Message {
  const data = bodyChars ? Buffer.from("x".repeat(bodyChars)).toString("base64url") : undefined;
  return {
    id,
    threadId: id,
    labelIds: labels,
    internalDate: "1700000000000",
    payload: {
      mimeType: "text/plain",
      headers: [{ name: "Subject", value: id }],
      body: data ? { size: bodyChars, data } : { size: 0 },
    },
  };
}

/** A promise and its settlers, for driving order by hand. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
