#!/usr/bin/env node
/**
 * `inbox-sync`: a command-line client for scripts and terminals that can only poll. Data goes to
 * stdout (NDJSON with --json), notes, progress and errors to stderr; USAGE lists the commands,
 * flags and exit codes (docs/cli.md says more).
 *
 * When no worker can run the task (POST answers 503 with a fallback, or a followed task says
 * `waiting: "no_workers"`), it runs the sync through the streaming endpoint instead, as the
 * browser does, so a script never waits for a worker that will not come.
 */
import { parseArgs } from "node:util";
import type { SyncOptions } from "../core/contract";
import { accountsCommand, checkCommand, healthCommand } from "./accountCommands";
import { changesCommand } from "./changesCommand";
import { CliError, EXIT, settingsPage } from "./errors";
import { emailsCommand, labelsCommand } from "./listCommands";
import { endQuietlyOnClosedStdout, type Output, processOutput } from "./output";
import { type Run, statusCommand, syncCommand } from "./syncCommand";
import { resolveToken, TokenSourceError } from "./token";

const USAGE = `usage:
  inbox-sync sync [--newer-than-days N] [--label ID]... [--no-wait] [--json]
      Start a sync (or join the one running) and follow it to its end. Progress goes to stderr
      (a bar on a terminal, a line per step otherwise); the result line to stdout.
      --newer-than-days N   only mail of the last N days (1-36500; Gmail's newer_than:Nd)
      --label ID            only mail carrying this label (repeatable: mail must carry every one);
                            ids as "inbox-sync labels" lists them, e.g. INBOX, STARRED, Label_12
      --no-wait             print the task id and return
      Without either, the whole mailbox. A sync already running with other choices is not
      joined: the server answers sync_in_progress (exit 4) until it ends.
  inbox-sync status <taskId> [--json]
  inbox-sync emails [--q WORDS] [--label ID] [--thread ID] [--limit N] [--cursor C] [--wide] [--json]
      One email a line: id, date, sender's address, subject (--wide: the whole From header).
      --q: every word must match, best match first; "a phrase", a OR b, -word
  inbox-sync labels [--json]              the Gmail labels and their ids
  inbox-sync accounts [--json]            the Gmail accounts: id, state, messages, address
  inbox-sync health [--account ID] [--json]
      How the account stands: last sync, Gmail push, counts, quota, and what needs you
      (exit 6 when something does). Without --account, the first account.
  inbox-sync check [--account ID] [--no-wait] [--json]
      A completeness check: every id Gmail lists compared with what is stored, what is missing
      fetched and what Gmail no longer has removed; followed like a sync.
  inbox-sync changes [--since N] [--follow] [--json]
      The mirror's changes after seq N (default 0: all that are kept), one a line, oldest first:
      seq, time, type, message id; JSON lines when piped or with --json. The last seq goes to
      stderr as "next: --since N". --follow keeps going: each new change as it is written, until
      interrupted. Needs a token with the "changes" scope.
options: --url URL (or INBOX_SYNC_URL, default http://localhost:3000)
         INBOX_SYNC_TOKEN or --token-file PATH: an API token, created at <url>/settings
         (--token TOKEN also works, but shows the token to other users of this machine)
         --json: one JSON object a line (NDJSON) on stdout, for every command
exit codes: 0 ok, 1 the sync failed, 2 bad usage, 3 no token or a refused, expired or
            under-scoped one, 4 the server refused the request (404, 409, 429),
            5 the server could not be reached or failed, 6 health: something needs you
`;

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  json: { type: "boolean", default: false },
  wait: { type: "boolean", default: true },
  "no-wait": { type: "boolean", default: false },
  q: { type: "string" },
  label: { type: "string", multiple: true },
  thread: { type: "string" },
  account: { type: "string" },
  "newer-than-days": { type: "string" },
  limit: { type: "string", default: "20" },
  cursor: { type: "string" },
  wide: { type: "boolean", default: false },
  since: { type: "string" },
  follow: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** What to sync, from the flags; undefined when none was given (the whole mailbox, or join). */
function syncOptions(days: string | undefined, labels: string[] | undefined): SyncOptions | undefined {
  const options: SyncOptions = {};
  if (days !== undefined) {
    const n = Number(days);
    if (!/^\d+$/.test(days) || n < 1 || n > 36500)
      throw new CliError("--newer-than-days takes a whole number of days from 1 to 36500", EXIT.usage);
    options.newerThanDays = n;
  }
  if (labels?.length) {
    const bad = labels.find((l) => !/^[A-Za-z0-9_-]{1,128}$/.test(l));
    if (bad !== undefined)
      throw new CliError(`--label "${bad}" is not a Gmail label id (see "inbox-sync labels")`, EXIT.usage);
    options.labelIds = labels;
  }
  return Object.keys(options).length ? options : undefined;
}

function token(values: Values, url: string): string {
  try {
    return resolveToken(
      { flag: values.token, file: values["token-file"], env: process.env.INBOX_SYNC_TOKEN },
      (line) => process.stderr.write(`inbox-sync: ${line}\n`),
      undefined,
      settingsPage(url),
    );
  } catch (err) {
    if (err instanceof TokenSourceError)
      throw new CliError(err.message, err.missing ? EXIT.auth : EXIT.usage);
    throw err;
  }
}

/** The command's action, with everything it needs; undefined for an unknown command. */
function action(
  command: string,
  arg: string | undefined,
  values: Values,
  ctx: Run,
): (() => Promise<number>) | undefined {
  const { client, out, json } = ctx;
  switch (command) {
    case "sync": {
      const options = syncOptions(values["newer-than-days"], values.label);
      return () => syncCommand(ctx, values.wait && !values["no-wait"], options);
    }
    case "status":
      if (!arg) throw new CliError("status needs a task id", EXIT.usage);
      return () => statusCommand(ctx, arg);
    case "emails":
      return () =>
        emailsCommand(client, out, json, {
          q: values.q,
          labels: values.label,
          thread: values.thread,
          limit: values.limit,
          cursor: values.cursor,
          wide: values.wide,
        });
    case "labels":
      return () => labelsCommand(client, out, json);
    case "accounts":
      return () => accountsCommand(client, out, json);
    case "health":
      return () => healthCommand(client, out, json, values.account);
    case "check":
      return () => checkCommand(ctx, values.wait && !values["no-wait"], values.account);
    case "changes":
      return () =>
        changesCommand(client, out, {
          since: values.since,
          follow: values.follow,
          // A pipe gets one JSON object a line, for jq or a program; a terminal gets columns.
          json: json || !process.stdout.isTTY,
        });
    default:
      return undefined;
  }
}

async function run(command: string, arg: string | undefined, values: Values, out: Output): Promise<number> {
  const url = (values.url ?? process.env.INBOX_SYNC_URL ?? "http://localhost:3000").replace(/\/+$/, "");
  const client = { url, token: "" };
  // Flags are checked before the token is, so a usage error says so whatever the token.
  const chosen = action(command, arg, values, { client, out, json: values.json });
  if (!chosen) throw new CliError(`unknown command "${command}" (see inbox-sync --help)`, EXIT.usage);
  client.token = token(values, url);
  return chosen();
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [command, arg] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (!command) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  return run(command, arg, values, processOutput());
}

endQuietlyOnClosedStdout();
main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`inbox-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    const usage = typeof err?.code === "string" && err.code.startsWith("ERR_PARSE_ARGS");
    process.exit(err instanceof CliError ? err.exitCode : usage ? EXIT.usage : EXIT.unavailable);
  });
