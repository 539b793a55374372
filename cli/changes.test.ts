import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../test/ApiClient";
import { type Stack, startStack, waitForTask, waitUntil } from "../test/stack";

/** The CLI as a script runs it: stdout and stderr are pipes. */
function start(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/inbox-sync.ts", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  const run = { child, stdout: "", stderr: "", code: undefined as number | null | undefined };
  child.stdout.on("data", (d) => {
    run.stdout += d;
  });
  child.stderr.on("data", (d) => {
    run.stderr += d;
  });
  const exited = new Promise<typeof run>((resolve) =>
    child.on("exit", (code) => {
      run.code = code;
      resolve(run);
    }),
  );
  return { run, exited };
}

const lines = (stdout: string) =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { seq: number; type: string; messageId?: string });

describe("inbox-sync changes", () => {
  const EMAIL = "cli-changes@example.com";
  let stack: Stack;
  let user: ApiClient;
  let env: Record<string, string>;
  const following: ChildProcess[] = [];

  const sync = async () => {
    const { body } = await user.json("POST", "/api/emails/sync");
    expect((await waitForTask(user, body.taskId)).final.state).toBe("completed");
  };

  beforeAll(async () => {
    stack = await startStack();
    await stack.simControl("POST", "/sim/accounts", { email: EMAIL, count: 12 });
    user = await stack.signIn(EMAIL);
    await sync();
    const created = await user.json("POST", "/api/tokens", { name: "feed", scopes: ["changes"] });
    env = { INBOX_SYNC_TOKEN: created.body.token, INBOX_SYNC_URL: stack.web.url };
  });
  afterAll(async () => {
    for (const child of following) child.kill();
    await stack?.close();
  });

  it("piped, prints one JSON line per change from --since on, and the seq to resume from on stderr", async () => {
    const all = await start(["changes"], env).exited;
    expect(all.code).toBe(0);
    const changes = lines(all.stdout);
    // account.state at sign-in, 12 added, sync.finished.
    expect(changes.map((c) => c.seq)).toEqual(changes.map((_, i) => i + 1));
    expect(changes.filter((c) => c.type === "message.added")).toHaveLength(12);
    expect(all.stderr).toBe(`next: --since ${changes.length}\n`);

    const tail = await start(["changes", "--since", "10"], env).exited;
    expect(tail.code).toBe(0);
    expect(lines(tail.stdout)).toEqual(changes.slice(10));
  });

  it("--follow prints each new change as a sync writes it, and keeps running", async () => {
    const { run } = start(["changes", "--follow"], env);
    following.push(run.child);
    await waitUntil(async () => lines(run.stdout).length >= 14, "the changes so far");
    const { ids } = await stack.simControl("POST", `/sim/accounts/${EMAIL}/messages`, { count: 2 });
    await sync();
    await waitUntil(
      async () => lines(run.stdout).some((c) => c.type === "sync.finished" && c.seq > 14),
      "the new sync",
    );
    const fresh = lines(run.stdout).slice(14);
    expect(
      fresh
        .filter((c) => c.type === "message.added")
        .map((c) => c.messageId)
        .sort(),
    ).toEqual([...ids].sort());
    expect(run.code).toBeUndefined();
  }, 30_000);

  it("a token without the changes scope is told which scope to ask for (exit 3); a bad --since is usage (exit 2)", async () => {
    const read = await user.json("POST", "/api/tokens", { name: "read", scopes: ["read"] });
    const refused = await start(["changes"], { ...env, INBOX_SYNC_TOKEN: read.body.token }).exited;
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/lacks the "changes" scope/);
    const bad = await start(["changes", "--since", "-3"], env).exited;
    expect(bad.code).toBe(2);
  });
});
