import type { ApiClient } from "../../test/ApiClient";

/** What every row gets: the running stack (two web processes, two workers), sized by `quick`. */
export interface BenchContext {
  quick: boolean;
  webA: string;
  /** Web node A's process id, for its memory. */
  webAPid: number;
  webB: string;
  redisUrl: string;
  queuePrefix: string;
  databaseUrl: string;
  /** The simulator's base URL (its Gmail API, OAuth and control routes). */
  simUrl: string;
  /** The simulator's control API. */
  sim(method: string, path: string, body?: unknown): Promise<any>;
  /** Signs `count` fresh users in on `url`, each with a mailbox of `messages`. */
  users(prefix: string, count: number, messages: number, url: string): Promise<ApiClient[]>;
  log(line: string): void;
}

export const stamp = () => performance.now();

/** Polls a task until it has finished; answers its last snapshot. */
export async function finished(client: ApiClient, taskId: string): Promise<any> {
  for (;;) {
    const { body } = await client.json("GET", `/api/emails/sync/status/${taskId}`);
    if (body.state === "completed" || body.state === "failed") return body;
    await new Promise((r) => setTimeout(r, 50));
  }
}
