import type { Change, ChangePage } from "../core/contract";
import { CliError, EXIT } from "./errors";
import { type Client, errorText, exitFor, request } from "./http";
import type { Output } from "./output";

/** Changes asked for per request: the route's most. */
const PAGE = 1_000;
/** Seconds each long-poll of --follow waits for a change (the route allows up to 60). */
const FOLLOW_WAIT_SECONDS = 30;

/** What `changes` asks for; see USAGE. */
export interface ChangesQuery {
  /** The last seq already seen; undefined = from the start. */
  since?: string;
  /** Keep following: long-poll for new changes until interrupted. */
  follow: boolean;
  /** One JSON object a line (asked for, or stdout is not a terminal). */
  json: boolean;
}

/** One change as a terminal line: seq, time, type, message id. */
export function changeRow(c: Change): string {
  return `${String(c.seq).padStart(8)}  ${c.at}  ${c.type.padEnd(15)}  ${c.messageId ?? ""}`.trimEnd();
}

/**
 * `inbox-sync changes`: the change feed (GET /api/changes) after `--since`, one change a line,
 * to its end; with --follow, then each new change as it commits (long-polls), until interrupted.
 * The last seq seen goes to stderr, so a script can resume with --since.
 */
export async function changesCommand(client: Client, out: Output, query: ChangesQuery): Promise<number> {
  if (query.since !== undefined && !/^\d{1,15}$/.test(query.since))
    throw new CliError("--since takes a seq: a whole number, 0 or more", EXIT.usage);
  let since = Number(query.since ?? 0);
  for (;;) {
    const wait = query.follow ? FOLLOW_WAIT_SECONDS : 0;
    const { status, body } = await request<ChangePage>(
      client,
      "GET",
      `/api/changes?since=${since}&limit=${PAGE}&wait=${wait}`,
      "changes",
    );
    if (status !== 200) throw new CliError(`changes answered ${status}: ${errorText(body)}`, exitFor(status));
    for (const c of body.changes) {
      if (query.json) out.json(c);
      else out.data(changeRow(c));
    }
    since = body.next;
    if (!body.more && !query.follow) break;
  }
  out.note(`next: --since ${since}`);
  return EXIT.ok;
}
