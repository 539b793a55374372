#!/usr/bin/env node
/**
 * `inbox-sync` — a command-line client for scripts and terminals that can only poll.
 *
 *   inbox-sync sync [--no-wait] [--json]    start a sync (or join the running one) and follow it
 *   inbox-sync status <taskId> [--json]     one task snapshot
 *   inbox-sync emails [--q WORDS] [--limit N] [--json]
 *
 * Options: --url (or INBOX_SYNC_URL, default http://localhost:3000) and --token (or
 * INBOX_SYNC_TOKEN): an API token from POST /api/tokens. Exit codes: 0 done, 1 the sync failed,
 * 2 bad usage, 3 the server refused or could not be reached.
 *
 * When no worker can run the task (POST answers 503 with a fallback, or a followed task says
 * `waiting: "no_workers"`), it runs the sync through the streaming endpoint instead, as the
 * browser does, so a script never waits for a worker that will not come.
 */
import { parseArgs } from "node:util";
import type { ApiError, EmailPage, SyncAccepted, TaskSnapshot } from "../core/contract";

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

async function request<T>(o: Options, method: string, path: string): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${o.token}`, accept: "application/json" },
    });
  } catch (err) {
    throw new CliError(`cannot reach ${o.url}: ${(err as Error).message}`, 3);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
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
  return { status: res.status, body: body as T };
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
async function streamSync(o: Options, path: string, out: ReturnType<typeof printer>): Promise<TaskSnapshot> {
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${o.token}`, accept: "application/x-ndjson" },
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

async function sync(o: Options, wait: boolean): Promise<number> {
  const { status, body } = await request<SyncAccepted & Partial<ApiError>>(o, "POST", "/api/emails/sync");
  if (status === 503 && body.fallback?.startsWith("/")) {
    // The queue cannot take the task: run it in a streaming request, as the browser does.
    if (!wait) throw new CliError(`${errorText(body)} (with --no-wait there is nothing to fall back to)`, 3);
    if (!o.json) process.stdout.write(`${errorText(body)}: syncing through ${body.fallback}\n`);
    const out = printer(o);
    const final = await streamSync(o, body.fallback, out);
    out.end();
    if (final.state !== "completed" && final.state !== "failed") return follow(o, final.taskId).then(finish);
    return finish(final);
  }
  if (status !== 202) throw new CliError(`sync answered ${status}: ${errorText(body)}`, 3);
  if (!o.json) process.stdout.write(`${body.joined ? "joined running" : "started"} task ${body.taskId}\n`);
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
      json: { type: "boolean", default: false },
      wait: { type: "boolean", default: true },
      "no-wait": { type: "boolean", default: false },
      q: { type: "string" },
      limit: { type: "string", default: "20" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(
      "usage: inbox-sync sync [--no-wait] | status <taskId> | emails [--q WORDS] [--limit N]  [--url URL] [--token TOKEN] [--json]\n",
    );
    return command ? 0 : 2;
  }
  const token = values.token ?? process.env.INBOX_SYNC_TOKEN;
  if (!token)
    throw new CliError(
      "an API token is needed: --token or INBOX_SYNC_TOKEN (create one with POST /api/tokens)",
      2,
    );
  const o: Options = {
    url: (values.url ?? process.env.INBOX_SYNC_URL ?? "http://localhost:3000").replace(/\/+$/, ""),
    token,
    json: values.json,
  };
  switch (command) {
    case "sync":
      return sync(o, values.wait && !values["no-wait"]);
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
      const { status, body } = await request<EmailPage>(o, "GET", `/api/emails?${params}`);
      if (status !== 200)
        throw new CliError(`emails answered ${status}: ${errorText(body)}`, status >= 500 ? 3 : 2);
      if (o.json) process.stdout.write(`${JSON.stringify(body)}\n`);
      else
        for (const e of body.emails)
          process.stdout.write(`${e.date.slice(0, 10)}  ${e.from.slice(0, 28).padEnd(28)}  ${e.subject}\n`);
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
