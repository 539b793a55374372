import type { AccountHealthView, AccountList } from "../core/contract";
import { CliError, EXIT } from "./errors";
import { type Client, errorText, exitFor, request } from "./http";
import type { Output } from "./output";
import { type Run, startAndFollow } from "./syncCommand";

/** The account a command is about: `--account ID`, else the person's only (or first) account. */
async function accountId(client: Client, chosen: string | undefined): Promise<string> {
  if (chosen) return chosen;
  const { status, body } = await request<AccountList>(client, "GET", "/api/accounts", "read");
  if (status !== 200) throw new CliError(`accounts answered ${status}: ${errorText(body)}`, exitFor(status));
  const first = body.accounts[0];
  if (!first) throw new CliError("no Gmail account is connected", EXIT.refused);
  return first.id;
}

/** `inbox-sync accounts`: one account a line (id, state, messages, address). */
export async function accountsCommand(client: Client, out: Output, json: boolean): Promise<number> {
  const { status, body } = await request<AccountList>(client, "GET", "/api/accounts", "read");
  if (status !== 200) throw new CliError(`accounts answered ${status}: ${errorText(body)}`, exitFor(status));
  for (const a of body.accounts) {
    if (json) out.json(a);
    else out.data(`${a.id}  ${a.state.padEnd(15)}  ${String(a.messages).padStart(8)}  ${a.email}`);
  }
  return EXIT.ok;
}

/** The health as lines a person reads: `term: value`, what needs a person first. */
export function healthLines(h: AccountHealthView): string[] {
  const lines = h.attention.map((a) => `NEEDS YOU (${a.code}): ${a.message} ${a.action}`);
  lines.push(`account: ${h.email} (${h.state})`);
  lines.push(
    `last sync: ${h.sync.lastAt ?? "never"}${h.sync.kind ? ` (${h.sync.kind})` : ""}` +
      (h.sync.lastFull ? `; last full ${h.sync.lastFull.at} (${h.sync.lastFull.reason ?? "unknown"})` : ""),
  );
  lines.push(
    `push: ${h.push.state}${h.push.watchedUntil ? ` until ${h.push.watchedUntil}` : ""}; last push ${
      h.push.lastPushAt ?? "never"
    }${h.push.failedRenewals ? `; ${h.push.failedRenewals} renewals failed: ${h.push.lastError ?? ""}` : ""}`,
  );
  lines.push(
    `messages: ${h.messages.here} here${h.messages.gmailTotal === null ? "" : `, ${h.messages.gmailTotal} at Gmail`}`,
  );
  if (h.check)
    lines.push(`last check: ${h.check.lastAt}: ${h.check.missing} missing, ${h.check.extra} gone (repaired)`);
  if (h.quota)
    lines.push(
      `quota today: ${h.quota.projectUnitsToday} of ${h.quota.projectUnitsPerDay} units; resets ${h.quota.resetsAt}`,
    );
  return lines;
}

/**
 * `inbox-sync health [--account ID]`: the account's health. Exit 0 when nothing needs a person,
 * 6 when something does, so a cron job or a monitor can act on it.
 */
export async function healthCommand(
  client: Client,
  out: Output,
  json: boolean,
  chosen: string | undefined,
): Promise<number> {
  const id = await accountId(client, chosen);
  const path = `/api/accounts/${encodeURIComponent(id)}/health`;
  const { status, body } = await request<AccountHealthView>(client, "GET", path, "read");
  if (status !== 200) throw new CliError(`health answered ${status}: ${errorText(body)}`, exitFor(status));
  if (json) out.json(body);
  else for (const line of healthLines(body)) out.data(line);
  return body.attention.length > 0 ? EXIT.attention : EXIT.ok;
}

/** `inbox-sync check [--account ID] [--no-wait]`: a completeness check, followed like a sync. */
export async function checkCommand(run: Run, wait: boolean, chosen: string | undefined): Promise<number> {
  const id = await accountId(run.client, chosen);
  return startAndFollow(run, wait, `/api/accounts/${encodeURIComponent(id)}/check`);
}
