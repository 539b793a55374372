#!/usr/bin/env node
/**
 * `inbox-sync` — a command-line client for scripts and terminals that can only poll.
 *
 *   inbox-sync sync [--newer-than-days N] [--label ID]... [--no-wait] [--json]
 *                                           start a sync (or join the running one) and follow it
 *   inbox-sync status <taskId> [--json]     one task snapshot
 *   inbox-sync emails [--q WORDS] [--label ID] [--thread ID] [--limit N] [--json]
 *   inbox-sync labels [--json]              the Gmail labels and their ids
 *
 * Options: --url (or INBOX_SYNC_URL, default http://localhost:3000) and the API token from
 * POST /api/tokens in INBOX_SYNC_TOKEN or a file named by --token-file (--token still works, with
 * a warning: the command line is visible to other users). Exit codes: 0 done, 1 the sync failed,
 * 2 bad usage, 3 the server refused or could not be reached.
 *
 * When no worker can run the task (POST answers 503 with a fallback, or a followed task says
 * `waiting: "no_workers"`), it runs the sync through the streaming endpoint instead, as the
 * browser does, so a script never waits for a worker that will not come.
 */
import { parseArgs } from "node:util";
import type {
  ApiError,
  EmailPage,
  LabelList,
  SyncAccepted,
  SyncOptions,
  TaskSnapshot,
} from "../core/contract";
import { resolveToken, TokenSourceError } from "./token";

const USAGE = `usage:
  inbox-sync sync [--newer-than-days N] [--label ID]... [--no-wait] [--json]
      Start a sync (or join the one running) and follow it to its end.
      --newer-than-days N   only mail of the last N days (1-36500; Gmail's newer_than:Nd)
      --label ID            only mail carrying this label (repeatable: mail must carry every one);
                            ids as "inbox-sync labels" lists them, e.g. INBOX, STARRED, Label_12
      Without either, the whole mailbox. A sync already running with other choices is not
      joined: the server answers sync_in_progress (exit 3) until it ends.
  inbox-sync status <taskId> [--json]
  inbox-sync emails [--q WORDS] [--label ID] [--thread ID] [--limit N] [--json]
      --q: every word must match, best match first; "a phrase", a OR b, -word
  inbox-sync labels [--json]
options: --url URL (or INBOX_SYNC_URL, default http://localhost:3000)
         INBOX_SYNC_TOKEN or --token-file PATH: an API token from POST /api/tokens
         (--token TOKEN also works, but shows the token to other users of this machine)
exit codes: 0 done, 1 the sync failed, 2 bad usage, 3 the server refused or could not be reached
`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Options {
  url: string;
  token: string;
  json: boolean;
}

async function request<T>(
  o: Options,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${o.token}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${o.url}: ${(err as Error).message}`, 3);
  }
  const text = await res.text();
  let answer: unknown = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError(`${method} ${path} answered ${res.status} with something that is not JSON`, 3);
  }
  if (res.status === 401)
    throw new CliError("the API token was refused (401): create one with POST /api/tokens", 3);
  if (res.status === 429) {
    const wait = res.headers.get("retry-after");
    const when = wait ? `try again in ${wait} s` : "try again later";
    throw new CliError(`${method} ${path} was rate limited (429): ${when}`, 3);
  }
  return { status: res.status, body: answer as T };
}

const errorText = (body: unknown) => {
  const e = (body as Partial<ApiError> | null)?.error;
  return e ? `${e.code}: ${e.message}` : JSON.stringify(body);
};

const WAIT_WORDS: Record<NonNullable<TaskSnapshot["waiting"]>, string> = {
  worker: "waiting for a worker",
  no_workers: "no worker alive: streaming",
  retry: "retrying",
  quota: "waiting for Gmail's quota",
  daily_budget: "waiting for the project's daily Gmail budget",
};

function bar(s: TaskSnapshot): string {
  const width = 30;
  const filled = Math.round((s.progress.percent / 100) * width);
  const wait = s.waiting
    ? `  (${WAIT_WORDS[s.waiting] ?? s.waiting}${s.retryAt ? ` until ${new Date(s.retryAt).toISOString().slice(11, 19)}` : ""})`
    : "";
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(s.progress.percent).padStart(3)}%  ${s.state.padEnd(9)} ${s.progress.phase.padEnd(8)} ${s.progress.processed}/${s.progress.total}${wait}`;
}

/** Prints one snapshot when it says something new (a step, or a new reason to wait). */
function printer(o: Options) {
  let last = "";
  const live = process.stdout.isTTY && !o.json;
  return {
    print(s: TaskSnapshot) {
      const key = `${s.seq}:${s.waiting ?? ""}`;
      if (key === last) return;
      last = key;
      if (o.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else process.stdout.write(live ? `\r${bar(s)}` : `${bar(s)}\n`);
    },
    end() {
      if (live) process.stdout.write("\n");
    },
  };
}

/**
 * Runs the sync inside a streaming request and prints each NDJSON line; `taskId` takes over that
 * task rather than starting one. Answers the last snapshot.
 */
async function streamSync(
  o: Options,
  path: string,
  out: ReturnType<typeof printer>,
  options?: SyncOptions,
): Promise<TaskSnapshot> {
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${o.token}`,
        accept: "application/x-ndjson",
        ...(options ? { "content-type": "application/json" } : {}),
      },
      body: options ? JSON.stringify(options) : undefined,
    });
  } catch (err) {
    throw new CliError(`cannot reach ${o.url}: ${(err as Error).message}`, 3);
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => "");
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    throw new CliError(`the stream answered ${res.status}: ${errorText(body)}`, 3);
  }
  let last: TaskSnapshot | null = null;
  let buffer = "";
  const decoder = new TextDecoder();
  const take = (line: string) => {
    if (!line.trim()) return;
    try {
      last = JSON.parse(line) as TaskSnapshot;
    } catch {
      return;
    }
    out.print(last);
  };
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      take(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  take(buffer);
  if (!last) throw new CliError("the stream ended without a snapshot", 3);
  return last;
}

function printFinal(o: Options, s: TaskSnapshot): void {
  if (o.json) return;
  if (s.state === "completed" && s.result) {
    const r = s.result;
    process.stdout.write(
      `completed (${r.mode}): ${r.added} added, ${r.updated} updated, ${r.deleted} deleted\n`,
    );
  } else if (s.state === "failed") {
    process.stdout.write(`failed: ${s.error?.code}: ${s.error?.message}\n`);
  }
}

/**
 * Follows a task by polling its status once a second, printing each change. When the task says
 * no worker is alive to run it, the stream takes it over; if the stream ends before the task
 * does (the web node stopped), polling resumes.
 */
async function follow(o: Options, taskId: string): Promise<TaskSnapshot> {
  const out = printer(o);
  const stream = `/api/emails/sync/stream?taskId=${encodeURIComponent(taskId)}`;
  for (;;) {
    const { status, body } = await request<TaskSnapshot>(o, "GET", `/api/emails/sync/status/${taskId}`);
    if (status !== 200) throw new CliError(`status answered ${status}: ${errorText(body)}`, 3);
    out.print(body);
    let current = body;
    if (current.waiting === "no_workers") current = await streamSync(o, stream, out);
    if (current.state === "completed" || current.state === "failed") {
      out.end();
      return current;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** What to sync, from the flags; undefined when none was given (the whole mailbox, or join). */
function syncOptions(days: string | undefined, labels: string[] | undefined): SyncOptions | undefined {
  const options: SyncOptions = {};
  if (days !== undefined) {
    const n = Number(days);
    if (!/^\d+$/.test(days) || n < 1 || n > 36500)
      throw new CliError("--newer-than-days takes a whole number of days from 1 to 36500", 2);
    options.newerThanDays = n;
  }
  if (labels?.length) {
    const bad = labels.find((l) => !/^[A-Za-z0-9_-]{1,128}$/.test(l));
    if (bad !== undefined)
      throw new CliError(`--label "${bad}" is not a Gmail label id (see "inbox-sync labels")`, 2);
    options.labelIds = labels;
  }
  return Object.keys(options).length ? options : undefined;
}

const scopeWords = (options: SyncOptions | undefined) => {
  const parts: string[] = [];
  if (options?.newerThanDays) parts.push(`the last ${options.newerThanDays} days`);
  if (options?.labelIds?.length) parts.push(`labels ${options.labelIds.join(" and ")}`);
  return parts.length ? parts.join(", ") : "the whole mailbox";
};

async function sync(o: Options, wait: boolean, options?: SyncOptions): Promise<number> {
  const { status, body } = await request<SyncAccepted & Partial<ApiError> & { options?: SyncOptions }>(
    o,
    "POST",
    "/api/emails/sync",
    options,
  );
  if (status === 503 && body.fallback?.startsWith("/")) {
    // The queue cannot take the task: run it in a streaming request, as the browser does.
    if (!wait) throw new CliError(`${errorText(body)} (with --no-wait there is nothing to fall back to)`, 3);
    if (!o.json) process.stdout.write(`${errorText(body)}: syncing through ${body.fallback}\n`);
    const out = printer(o);
    const final = await streamSync(o, body.fallback, out, options);
    out.end();
    if (final.state !== "completed" && final.state !== "failed") return follow(o, final.taskId).then(finish);
    return finish(final);
  }
  if (status === 409)
    throw new CliError(
      `${errorText(body)} (running: task ${String((body as { taskId?: unknown }).taskId)}, ${scopeWords(body.options)})`,
      3,
    );
  if (status !== 202) throw new CliError(`sync answered ${status}: ${errorText(body)}`, 3);
  if (!o.json)
    process.stdout.write(
      `${body.joined ? "joined running" : "started"} task ${body.taskId} (${scopeWords(body.options)})\n`,
    );
  if (!wait) {
    if (o.json) process.stdout.write(`${JSON.stringify(body)}\n`);
    return 0;
  }
  return finish(await follow(o, body.taskId));

  function finish(final: TaskSnapshot): number {
    printFinal(o, final);
    return final.state === "completed" ? 0 : 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      json: { type: "boolean", default: false },
      wait: { type: "boolean", default: true },
      "no-wait": { type: "boolean", default: false },
      q: { type: "string" },
      label: { type: "string", multiple: true },
      thread: { type: "string" },
      "newer-than-days": { type: "string" },
      limit: { type: "string", default: "20" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  let token: string;
  try {
    token = resolveToken(
      { flag: values.token, file: values["token-file"], env: process.env.INBOX_SYNC_TOKEN },
      (line) => process.stderr.write(`inbox-sync: ${line}\n`),
    );
  } catch (err) {
    if (err instanceof TokenSourceError) throw new CliError(err.message, 2);
    throw err;
  }
  const o: Options = {
    url: (values.url ?? process.env.INBOX_SYNC_URL ?? "http://localhost:3000").replace(/\/+$/, ""),
    token,
    json: values.json,
  };
  switch (command) {
    case "sync":
      return sync(o, values.wait && !values["no-wait"], syncOptions(values["newer-than-days"], values.label));
    case "status": {
      if (!arg) throw new CliError("status needs a task id", 2);
      const { status, body } = await request<TaskSnapshot>(
        o,
        "GET",
        `/api/emails/sync/status/${encodeURIComponent(arg)}`,
      );
      if (status !== 200) throw new CliError(`status answered ${status}: ${errorText(body)}`, 3);
      process.stdout.write(o.json ? `${JSON.stringify(body)}\n` : `${bar(body)}\n`);
      printFinal(o, body);
      return body.state === "failed" ? 1 : 0;
    }
    case "emails": {
      const params = new URLSearchParams({ limit: values.limit });
      if (values.q) params.set("q", values.q);
      if ((values.label?.length ?? 0) > 1) throw new CliError("emails takes one --label", 2);
      if (values.label?.[0]) params.set("label", values.label[0]);
      if (values.thread) params.set("threadId", values.thread);
      const { status, body } = await request<EmailPage>(o, "GET", `/api/emails?${params}`);
      if (status !== 200)
        throw new CliError(`emails answered ${status}: ${errorText(body)}`, status >= 500 ? 3 : 2);
      if (o.json) process.stdout.write(`${JSON.stringify(body)}\n`);
      else
        for (const e of body.emails)
          process.stdout.write(`${e.date.slice(0, 10)}  ${e.from.slice(0, 28).padEnd(28)}  ${e.subject}\n`);
      return 0;
    }
    case "labels": {
      const { status, body } = await request<LabelList>(o, "GET", "/api/labels");
      if (status !== 200) throw new CliError(`labels answered ${status}: ${errorText(body)}`, 3);
      if (o.json) process.stdout.write(`${JSON.stringify(body)}\n`);
      else
        for (const l of body.labels)
          process.stdout.write(`${l.id.padEnd(24)}  ${l.type.padEnd(6)}  ${l.name}\n`);
      return 0;
    }
    default:
      throw new CliError(`unknown command "${command}"`, 2);
  }
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`inbox-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(
      err instanceof CliError ? err.exitCode : err?.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? 2 : 3,
    );
  });
