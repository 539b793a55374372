import type { EmailPage, EmailSummary, LabelList } from "../core/contract";
import { CliError, EXIT } from "./errors";
import { type Client, errorText, exitFor, request } from "./http";
import type { Output } from "./output";

/** What `emails` asks for; see USAGE. */
export interface EmailQuery {
  q?: string;
  labels?: string[];
  thread?: string;
  limit: string;
  cursor?: string;
  /** Show the From header whole (display name and address) rather than the address alone. */
  wide: boolean;
}

/** The address in a From header (`"Ann" <ann@example.com>` → `ann@example.com`), whole. */
export function senderAddress(from: string): string {
  const angle = /<([^<>]+)>\s*$/.exec(from);
  return (angle?.[1] ?? from).trim();
}

/**
 * The emails as aligned columns: id, date, sender, subject. Columns are as wide as their longest
 * value on the page, so nothing is cut: an id can be copied and a sender read whole.
 */
export function emailRows(emails: EmailSummary[], wide: boolean): string[] {
  const senders = emails.map((e) => (wide ? e.from.trim() : senderAddress(e.from)));
  const idWidth = Math.max(0, ...emails.map((e) => e.id.length));
  const fromWidth = Math.max(0, ...senders.map((s) => s.length));
  return emails.map(
    (e, i) =>
      `${e.id.padEnd(idWidth)}  ${e.date.slice(0, 10)}  ${senders[i]!.padEnd(fromWidth)}  ${e.subject}`,
  );
}

/** `inbox-sync emails`: one email per line (NDJSON with --json); the next page's cursor on stderr. */
export async function emailsCommand(
  client: Client,
  out: Output,
  json: boolean,
  query: EmailQuery,
): Promise<number> {
  if (!/^\d+$/.test(query.limit)) throw new CliError("--limit takes a whole number", EXIT.usage);
  if ((query.labels?.length ?? 0) > 1) throw new CliError("emails takes one --label", EXIT.usage);
  const params = new URLSearchParams({ limit: query.limit });
  if (query.q) params.set("q", query.q);
  if (query.labels?.[0]) params.set("label", query.labels[0]);
  if (query.thread) params.set("threadId", query.thread);
  if (query.cursor) params.set("cursor", query.cursor);
  const { status, body } = await request<EmailPage>(client, "GET", `/api/emails?${params}`, "read");
  if (status !== 200) throw new CliError(`emails answered ${status}: ${errorText(body)}`, exitFor(status));
  if (json) for (const e of body.emails) out.json(e);
  else for (const row of emailRows(body.emails, query.wide)) out.data(row);
  if (body.nextCursor) out.note(`more: add --cursor ${body.nextCursor}`);
  return EXIT.ok;
}

/** `inbox-sync labels`: one label per line (NDJSON with --json). */
export async function labelsCommand(client: Client, out: Output, json: boolean): Promise<number> {
  const { status, body } = await request<LabelList>(client, "GET", "/api/labels", "read");
  if (status !== 200) throw new CliError(`labels answered ${status}: ${errorText(body)}`, exitFor(status));
  for (const l of body.labels) {
    if (json) out.json(l);
    else out.data(`${l.id.padEnd(24)}  ${l.type.padEnd(6)}  ${l.name}`);
  }
  return EXIT.ok;
}
