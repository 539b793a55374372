/**
 * A useful subset of Gmail's search syntax for `messages.list?q=`: `is:`, `in:`, `label:`,
 * `category:`, `from:`, `to:`, `subject:`, `after:`/`before:`, `newer_than:`/`older_than:`, bare
 * words and "quoted phrases" (matched against subject, sender and snippet), and `-` to negate.
 */
import type { Mailbox, MessageRecord } from "./Mailbox";

export interface ParsedQuery {
  match?: (record: MessageRecord, mailbox: Mailbox) => boolean;
  key: string;
  /** `in:anywhere`, `in:spam` or `in:trash` lift the default spam/trash exclusion. */
  includeSpamTrash: boolean;
}

type Test = (record: MessageRecord, mailbox: Mailbox) => boolean;

function tokenize(q: string): string[] {
  const tokens: string[] = [];
  const re = /(-?)([a-z_]+:)?("([^"]*)"|\S+)/gi;
  for (let m = re.exec(q); m; m = re.exec(q)) tokens.push(m[0]);
  return tokens;
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
}

/** Gmail reads a date in `after:`/`before:` as midnight PST (UTC-8); epoch seconds are exact. */
export const PST_OFFSET_MS = 8 * 3_600_000;

function parseDate(value: string): number | undefined {
  if (/^\d{9,}$/.test(value)) return Number(value) * 1000;
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + PST_OFFSET_MS;
}

function parseAge(value: string): number | undefined {
  const m = /^(\d+)([dmy])$/.exec(value);
  if (!m) return undefined;
  const days = { d: 1, m: 30, y: 365 }[m[2] as "d" | "m" | "y"];
  return Number(m[1]) * days * 86_400_000;
}

function summaryOf(record: MessageRecord, mailbox: Mailbox) {
  return mailbox.summary(record);
}

function labelIdFor(mailbox: Mailbox, name: string): string {
  const wanted = name.toLowerCase();
  for (const def of mailbox.labels()) {
    if (def.id.toLowerCase() === wanted || def.name.toLowerCase().replace(/[\s/]+/g, "-") === wanted) {
      return def.id;
    }
    if (def.name.toLowerCase() === wanted) return def.id;
  }
  return name.toUpperCase();
}

const IS_LABEL: Record<string, string> = {
  unread: "UNREAD",
  starred: "STARRED",
  important: "IMPORTANT",
};

const hasLabel =
  (label: string): Test =>
  (record) =>
    record.labels.includes(label);

const dateBound = (op: string, at: number): Test =>
  op === "after" || op === "newer_than" ? (r) => r.internalDate >= at : (r) => r.internalDate < at;

/** Free text: matched against subject, snippet and sender, as Gmail's plain words are. */
const anyText =
  (value: string): Test =>
  (r, mailbox) => {
    const s = summaryOf(r, mailbox);
    return (
      s.subject.toLowerCase().includes(value) ||
      s.snippet.toLowerCase().includes(value) ||
      s.from.address.includes(value) ||
      s.from.name.toLowerCase().includes(value)
    );
  };

/** One operator's test for its (lowercased) value; `undefined` when the term selects nothing. */
type Operator = (value: string, op: string, now: number) => Test | undefined;

const OPERATORS = new Map<string, Operator>([
  [
    "is",
    (value) =>
      value === "read"
        ? (r) => !r.labels.includes("UNREAD")
        : IS_LABEL[value]
          ? hasLabel(IS_LABEL[value]!)
          : undefined,
  ],
  ["in", (value) => (value === "anywhere" ? undefined : hasLabel(value.toUpperCase()))],
  ["label", (value) => (r, mailbox) => r.labels.includes(labelIdFor(mailbox, value))],
  ["category", (value) => hasLabel(`CATEGORY_${value === "primary" ? "PERSONAL" : value.toUpperCase()}`)],
  [
    "from",
    (value) => (r, mailbox) => {
      const { from } = summaryOf(r, mailbox);
      return from.address.includes(value) || from.name.toLowerCase().includes(value);
    },
  ],
  ["to", (value) => (_r, mailbox) => mailbox.email.includes(value)],
  ["subject", (value) => (r, mailbox) => summaryOf(r, mailbox).subject.toLowerCase().includes(value)],
  ["after", absoluteDate],
  ["before", absoluteDate],
  ["newer_than", relativeAge],
  ["older_than", relativeAge],
  ["", (value) => (value ? anyText(value) : undefined)],
]);

function absoluteDate(value: string, op: string): Test | undefined {
  const at = parseDate(value);
  return at === undefined ? undefined : dateBound(op, at);
}

function relativeAge(value: string, op: string, now: number): Test | undefined {
  const age = parseAge(value);
  return age === undefined ? undefined : dateBound(op, now - age);
}

export function parseQuery(q: string, now: number): ParsedQuery {
  const tests: Test[] = [];
  let includeSpamTrash = false;
  for (const token of tokenize(q.trim())) {
    const negate = token.startsWith("-");
    const body = negate ? token.slice(1) : token;
    const colon = body.indexOf(":");
    const op = colon > 0 && !body.startsWith('"') ? body.slice(0, colon).toLowerCase() : "";
    const value = unquote(op ? body.slice(colon + 1) : body).toLowerCase();
    // in:spam, in:trash and in:anywhere widen the search to spam and trash, negated or not.
    if (op === "in" && (value === "anywhere" || value === "spam" || value === "trash"))
      includeSpamTrash = true;
    const test = OPERATORS.get(op)?.(value, op, now);
    if (test) tests.push(negate ? (r, m) => !test(r, m) : test);
  }
  const key = q.trim().toLowerCase();
  if (tests.length === 0) return { key, includeSpamTrash };
  return { key, includeSpamTrash, match: (record, mailbox) => tests.every((t) => t(record, mailbox)) };
}
