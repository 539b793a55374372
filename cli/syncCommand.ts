import type { ApiError, SyncAccepted, SyncOptions, TaskSnapshot } from "../core/contract";
import { CliError, EXIT } from "./errors";
import { type Client, errorText, exitFor, request, streamNdjson } from "./http";
import type { Output } from "./output";
import { bar, type ProgressPrinter, progressPrinter } from "./progress";

/** How often a followed task's status is asked for: often enough that progress visibly moves. */
export const POLL_MS = 500;

/** What `sync` and `status` need besides the client. */
export interface Run {
  client: Client;
  out: Output;
  json: boolean;
}

const isTaskSnapshot = (value: unknown): value is TaskSnapshot =>
  typeof value === "object" && value !== null && "taskId" in value && "progress" in value;

/**
 * Runs the sync inside a streaming request and shows each snapshot; with `?taskId=` it takes
 * over that task rather than starting one. Answers the last snapshot.
 */
async function streamSync(
  run: Run,
  path: string,
  progress: ProgressPrinter,
  options?: SyncOptions,
): Promise<TaskSnapshot> {
  let last: TaskSnapshot | null = null;
  await streamNdjson(
    run.client,
    path,
    (value) => {
      if (!isTaskSnapshot(value)) return;
      last = value;
      progress.print(value, "stream");
    },
    options,
  );
  if (!last) throw new CliError("the stream ended without a snapshot", EXIT.unavailable);
  return last;
}

async function taskStatus(client: Client, taskId: string): Promise<TaskSnapshot> {
  const path = `/api/emails/sync/status/${encodeURIComponent(taskId)}`;
  const { status, body } = await request<TaskSnapshot>(client, "GET", path, "read");
  if (status !== 200) throw new CliError(`status answered ${status}: ${errorText(body)}`, exitFor(status));
  return body;
}

const finished = (s: TaskSnapshot) => s.state === "completed" || s.state === "failed";

/**
 * Follows a task by polling its status, showing each change. When the task says no worker is
 * alive to run it, the stream takes it over; if the stream ends before the task does (the web
 * node stopped), polling resumes.
 */
async function follow(run: Run, taskId: string, progress: ProgressPrinter): Promise<TaskSnapshot> {
  const stream = `/api/emails/sync/stream?taskId=${encodeURIComponent(taskId)}`;
  for (;;) {
    let current = await taskStatus(run.client, taskId);
    progress.print(current);
    if (current.waiting === "no_workers") current = await streamSync(run, stream, progress);
    if (finished(current)) return current;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * The end of a task: its result is the command's data (stdout); a failure is said on stderr.
 * With --json the snapshots already said it all.
 */
function finish(run: Run, s: TaskSnapshot): number {
  if (s.state === "completed") {
    const r = s.result;
    if (!run.json && r)
      run.out.data(`completed (${r.mode}): ${r.added} added, ${r.updated} updated, ${r.deleted} deleted`);
    return EXIT.ok;
  }
  if (!run.json) run.out.note(`failed: ${s.error?.code}: ${s.error?.message}`);
  return EXIT.failed;
}

/** `inbox-sync status <taskId>`: one snapshot, as data. */
export async function statusCommand(run: Run, taskId: string): Promise<number> {
  const s = await taskStatus(run.client, taskId);
  if (run.json) run.out.json(s);
  else run.out.data(bar(s));
  return finished(s) ? finish(run, s) : EXIT.ok;
}

export const scopeWords = (options: SyncOptions | undefined) => {
  const parts: string[] = [];
  if (options?.newerThanDays) parts.push(`the last ${options.newerThanDays} days`);
  if (options?.labelIds?.length) parts.push(`labels ${options.labelIds.join(" and ")}`);
  return parts.length ? parts.join(", ") : "the whole mailbox";
};

type SyncAnswer = SyncAccepted & Partial<ApiError> & { options?: SyncOptions; fallback?: string };

/** The queue cannot take the task: run it in a streaming request, as the browser does. */
async function fallBack(run: Run, body: SyncAnswer, options?: SyncOptions): Promise<number> {
  run.out.note(`${errorText(body)}: syncing through ${body.fallback}`);
  const progress = progressPrinter(run.out, run.json);
  let final = await streamSync(run, body.fallback as string, progress, options);
  if (!finished(final)) final = await follow(run, final.taskId, progress);
  progress.end();
  return finish(run, final);
}

/** `inbox-sync sync`: starts a sync (or joins the running one) and, with `wait`, follows it. */
export function syncCommand(run: Run, wait: boolean, options?: SyncOptions): Promise<number> {
  return startAndFollow(run, wait, "/api/emails/sync", options);
}

/**
 * POSTs `path` (a sync, or a completeness check), which answers a task, and, with `wait`, follows
 * that task to its end, through the streaming fallback where no worker runs.
 */
export async function startAndFollow(
  run: Run,
  wait: boolean,
  path: string,
  options?: SyncOptions,
): Promise<number> {
  const { status, body } = await request<SyncAnswer>(run.client, "POST", path, "sync", options);
  if (status === 503 && body.fallback?.startsWith("/")) {
    if (!wait)
      throw new CliError(
        `${errorText(body)} (with --no-wait there is nothing to fall back to)`,
        EXIT.unavailable,
      );
    return fallBack(run, body, options);
  }
  if (status === 409)
    throw new CliError(
      `${errorText(body)} (running: task ${String((body as { taskId?: unknown }).taskId)}, ${scopeWords(body.options)})`,
      EXIT.refused,
    );
  if (status !== 202) throw new CliError(`${path} answered ${status}: ${errorText(body)}`, exitFor(status));
  const what = (body.options as { check?: true } | undefined)?.check
    ? "a completeness check"
    : scopeWords(body.options);
  run.out.note(`${body.joined ? "joined running" : "started"} task ${body.taskId} (${what})`);
  if (!wait) {
    if (run.json) run.out.json(body);
    else run.out.data(body.taskId);
    return EXIT.ok;
  }
  const progress = progressPrinter(run.out, run.json);
  const final = await follow(run, body.taskId, progress);
  progress.end();
  return finish(run, final);
}
