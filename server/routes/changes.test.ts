import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Change, ChangePage } from "../../core/contract";
import { freePort } from "../../scripts/lib/devServices";
import { ApiClient } from "../../test/ApiClient";
import { checkedStack } from "../../test/declaredResponses";
import { type Stack, startStack, waitForTask, waitUntil } from "../../test/stack";
import { startWebServer, type WebServer } from "../WebServer";

/**
 * The change feed (GET /api/changes) against the real stack: PostgreSQL, Redis, a worker and the
 * Gmail simulator. A follower that replays it rebuilds the mirror; resumed from any cursor it sees
 * each change once; long-polls and event streams wake on a sync's writes; retention answers 410;
 * bad input 400; no user sees another's changes.
 */

const ALICE = "feed-alice@example.com";
const BOB = "feed-bob@example.com";
const DAY = 86_400_000;
/** Long-polls and event streams one user may hold open at once, in this stack. */
const FOLLOWERS = 3;

describe("the change feed", () => {
  let stack: Stack;
  let alice: ApiClient;
  let bob: ApiClient;

  const userIdOf = async (email: string) => {
    const [row] = await stack.web.ctx.sequelize.query<{ id: string }>(
      "SELECT id FROM users WHERE email = :email",
      {
        replacements: { email },
        type: QueryTypes.SELECT,
      },
    );
    return row!.id;
  };
  /** The account's id, as GET /api/accounts gives it: the feed's `accountId`. */
  const accountIdOf = async (email: string) => {
    const [row] = await stack.web.ctx.sequelize.query<{ id: string }>(
      "SELECT id FROM gmail_accounts WHERE email = :email",
      { replacements: { email }, type: QueryTypes.SELECT },
    );
    return row!.id;
  };
  const storedIds = async (email: string) =>
    new Set(
      (
        await stack.web.ctx.sequelize.query<{ gmail_id: string }>(
          "SELECT e.gmail_id FROM emails e JOIN users u ON u.id = e.user_id WHERE u.email = :email",
          { replacements: { email }, type: QueryTypes.SELECT },
        )
      ).map((r) => r.gmail_id),
    );
  const sync = async (client: ApiClient) => {
    const started = await client.json("POST", "/api/emails/sync");
    expect(started.status).toBe(202);
    const { final } = await waitForTask(client, started.body.taskId);
    expect(final.state).toBe("completed");
    return final;
  };
  /** Every change after `since`, paging by `limit` until `more` is false. */
  const replay = async (client: ApiClient, since = 0, limit = 100) => {
    const all: Change[] = [];
    let cursor = since;
    for (;;) {
      const page = await client.json<ChangePage>("GET", `/api/changes?since=${cursor}&limit=${limit}`);
      expect(page.status).toBe(200);
      all.push(...page.body.changes);
      cursor = page.body.next;
      if (!page.body.more) return { changes: all, next: cursor };
    }
  };
  /** The set of ids a follower holds after applying `changes` in order. */
  const mirrorOf = (changes: Change[]) => {
    const ids = new Set<string>();
    for (const c of changes) {
      if (c.type === "message.added") ids.add(c.messageId!);
      if (c.type === "message.deleted") ids.delete(c.messageId!);
    }
    return ids;
  };

  beforeAll(async () => {
    stack = checkedStack(await startStack({ env: { RATE_LIMIT_FEED_FOLLOWERS: String(FOLLOWERS) } }));
    await stack.simControl("POST", "/sim/accounts", { email: ALICE, count: 60 });
    await stack.simControl("POST", "/sim/accounts", { email: BOB, count: 25 });
    alice = await stack.signIn(ALICE);
    bob = await stack.signIn(BOB);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("replayed from 0 it rebuilds the mirror's exact ids after a full sync, and again after an incremental sync with deletions and label changes", async () => {
    const before = await replay(alice);
    // Signing in connected the account: the feed's first change.
    expect(before.changes.map((c) => c.type)).toEqual(["account.state"]);

    await sync(alice);
    const afterFull = await replay(alice);
    expect(mirrorOf(afterFull.changes)).toEqual(await storedIds(ALICE));
    expect((await storedIds(ALICE)).size).toBe(60);
    expect(afterFull.changes.at(-1)!.type).toBe("sync.finished");

    // Gmail changes: 5 new, 4 deleted, 3 starred, 1 moved to the trash (which the mirror leaves out).
    const sim = await stack.control.messages(ALICE);
    const deleted = sim.slice(0, 4).map((m) => m.id);
    const starred = sim.slice(10, 13).map((m) => m.id);
    const trashed = sim[20]!.id;
    for (const id of deleted) await stack.simControl("DELETE", `/sim/accounts/${ALICE}/messages/${id}`);
    for (const id of starred)
      await stack.simControl("POST", `/sim/accounts/${ALICE}/messages/${id}/labels`, { add: ["STARRED"] });
    await stack.simControl("POST", `/sim/accounts/${ALICE}/messages/${trashed}/labels`, {
      add: ["TRASH"],
      remove: ["INBOX"],
    });
    const added: string[] = (await stack.simControl("POST", `/sim/accounts/${ALICE}/messages`, { count: 5 }))
      .ids;

    const final = await sync(alice);
    expect(final.result.mode).toBe("incremental");
    const full = await replay(alice);
    const stored = await storedIds(ALICE);
    expect(stored.size).toBe(60 - 4 - 1 + 5);
    expect(mirrorOf(full.changes)).toEqual(stored);

    // What the incremental sync said, each once, after the full sync's changes.
    const news = full.changes.slice(afterFull.changes.length);
    const ofType = (type: string) =>
      news
        .filter((c) => c.type === type)
        .map((c) => c.messageId)
        .sort();
    expect(ofType("message.added")).toEqual([...added].sort());
    expect(ofType("message.deleted")).toEqual([...deleted, trashed].sort());
    expect(ofType("message.labels")).toEqual([...starred].sort());
    expect(news.at(-1)!.type).toBe("sync.finished");

    // Numbered 1..n without a gap, each change in its user's account.
    expect(full.changes.map((c) => c.seq)).toEqual(full.changes.map((_, i) => i + 1));
    const id = await accountIdOf(ALICE);
    expect(new Set(full.changes.map((c) => c.accountId))).toEqual(new Set([id]));
  });

  it("resumed from any cursor, with any page size, it answers exactly the changes after it: none missed, none twice", async () => {
    const { changes: all, next: head } = await replay(alice);
    expect(all.length).toBeGreaterThan(60);
    for (let since = 0; since <= head; since += 1) {
      const limit = 1 + (since % 37);
      const { changes, next } = await replay(alice, since, limit);
      expect(changes.map((c) => c.seq)).toEqual(all.slice(since).map((c) => c.seq));
      expect(next).toBe(head);
    }
  });

  it("a long-poll held open with wait answers with the change a sync commits, woken by the worker's signal through Redis", async () => {
    const { next: head } = await replay(alice);
    const signal = stack.web.ctx.changeSignal;
    const notified = vi.spyOn(signal, "notify");
    // 60 s is far beyond this test's own timeout: an answer with changes came before it.
    const polling = alice.json<ChangePage>("GET", `/api/changes?since=${head}&wait=60`);
    await waitUntil(async () => signal.size > 0, "the long-poll to wait");
    const { ids } = await stack.simControl("POST", `/sim/accounts/${ALICE}/messages`, { count: 1 });
    await sync(alice);
    const page = await polling;
    // The worker's snapshots (Socket.IO server-side emits) reached this web node for this user.
    expect(notified).toHaveBeenCalledWith(await userIdOf(ALICE));
    notified.mockRestore();
    expect(page.status).toBe(200);
    expect(page.body.changes.length).toBeGreaterThan(0);
    expect(page.body.changes[0]!.seq).toBe(head + 1);
    const { changes } = await replay(alice, head);
    expect(changes.filter((c) => c.type === "message.added").map((c) => c.messageId)).toEqual(ids);
  }, 30_000);

  it("streams Server-Sent Events with id = seq, resumes after Last-Event-ID, and carries a change committed while it is open", async () => {
    const { changes: all, next: head } = await replay(alice);
    const from = head - 5;
    const stop = new AbortController();
    const res = await fetch(`${stack.web.url}/api/changes`, {
      headers: { cookie: alice.cookieHeader, accept: "text/event-stream", "last-event-id": String(from) },
      signal: stop.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const events: Array<{ id: number; change: Change }> = [];
    const readUntil = async (count: number) => {
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = block.match(/^id: (\d+)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (id && data) events.push({ id: Number(id), change: JSON.parse(data) });
          end = buffer.indexOf("\n\n");
        }
      }
    };
    try {
      await readUntil(5);
      expect(events.map((e) => e.id)).toEqual(all.slice(from).map((c) => c.seq));
      expect(events.map((e) => e.change)).toEqual(all.slice(from));

      // A change committed while the stream is open arrives on it, after what it already sent.
      const { ids } = await stack.simControl("POST", `/sim/accounts/${ALICE}/messages`, { count: 1 });
      await sync(alice);
      const { changes: fresh } = await replay(alice, head);
      await readUntil(5 + fresh.length);
      expect(events.slice(5).map((e) => e.change)).toEqual(fresh);
      expect(fresh.find((c) => c.type === "message.added")?.messageId).toBe(ids[0]);
    } finally {
      stop.abort();
      await reader.cancel().catch(() => {});
    }
  }, 30_000);

  it("answers 400 for a bad since, limit, wait or Last-Event-ID, and for a cursor past the feed's head", async () => {
    const { next: head } = await replay(alice);
    const cases: Array<[string, string]> = [
      ["since=-1", "invalid_cursor"],
      ["since=abc", "invalid_cursor"],
      ["since=1.5", "invalid_cursor"],
      [`since=${head + 1}`, "invalid_cursor"],
      ["since=99999999999999999999", "invalid_cursor"],
      ["limit=0", "invalid_limit"],
      ["limit=1001", "invalid_limit"],
      ["wait=61", "invalid_wait"],
      ["wait=-1", "invalid_wait"],
      ["since=1&since=2", "invalid_request"],
    ];
    for (const [query, code] of cases) {
      const res = await alice.json("GET", `/api/changes?${query}`);
      expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code });
    }
    const res = await alice.raw("GET", "/api/changes", {
      headers: { accept: "text/event-stream", "last-event-id": "x1" },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("invalid_cursor");
  });

  it("holds at most RATE_LIMIT_FEED_FOLLOWERS long-polls and streams of a user open: one more is 429, pages without wait still answer, a closed one frees its place", async () => {
    const { next: head } = await replay(alice);
    const streams = Array.from({ length: FOLLOWERS }, () => new AbortController());
    const opened = await Promise.all(
      streams.map((stop) =>
        fetch(`${stack.web.url}/api/changes?since=${head}`, {
          headers: { cookie: alice.cookieHeader, accept: "text/event-stream" },
          signal: stop.signal,
        }),
      ),
    );
    try {
      expect(opened.map((r) => r.status)).toEqual(streams.map(() => 200));
      const poll = await alice.json("GET", `/api/changes?since=${head}&wait=30`);
      expect(poll.status).toBe(429);
      expect(poll.body.error.code).toBe("rate_limited");
      const events = await alice.raw("GET", `/api/changes?since=${head}`, {
        headers: { accept: "text/event-stream" },
      });
      expect(events.status).toBe(429);
      expect((await alice.json("GET", `/api/changes?since=${head}`)).status).toBe(200);
      // Another user's followers are counted apart.
      expect((await bob.json("GET", "/api/changes?since=0&wait=1")).status).toBe(200);
    } finally {
      for (const stop of streams) stop.abort();
    }
    await waitUntil(
      async () => (await alice.json("GET", `/api/changes?since=${head}&wait=1`)).status === 200,
      "a freed place",
    );
  }, 30_000);

  it("needs a token with the changes scope; read alone is refused", async () => {
    const mint = async (scopes: string[]) =>
      (await alice.json("POST", "/api/tokens", { name: scopes.join("+"), scopes })).body.token as string;
    const reader = await mint(["read"]);
    const follower = await mint(["changes"]);
    const call = (token: string) =>
      fetch(`${stack.web.url}/api/changes?since=0&limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const refused = await call(reader);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("insufficient_scope");
    const allowed = await call(follower);
    expect(allowed.status).toBe(200);
    expect((await allowed.json()).changes[0].seq).toBe(1);
  });

  it("never shows a user another user's changes", async () => {
    await sync(bob);
    const bobs = await replay(bob);
    const alices = await replay(alice);
    expect(mirrorOf(bobs.changes)).toEqual(await storedIds(BOB));
    expect((await storedIds(BOB)).size).toBe(25);
    const bobId = await accountIdOf(BOB);
    expect(new Set(bobs.changes.map((c) => c.accountId))).toEqual(new Set([bobId]));
    const alicesIds = new Set(alices.changes.flatMap((c) => (c.messageId ? [c.messageId] : [])));
    expect(bobs.changes.filter((c) => c.messageId && alicesIds.has(c.messageId))).toEqual([]);
    // Each feed counts its own user's changes from 1.
    expect(bobs.changes[0]!.seq).toBe(1);
    expect(bobs.next).toBe(bobs.changes.length);
  });

  it("past retention: the maintenance prune removes old changes, an older cursor gets 410 cursor_expired with the head to follow from", async () => {
    const { next: head } = await replay(bob);
    // As the purge job would see it once the retention has passed.
    const retention = stack.web.ctx.config.changeFeed.retentionDays;
    expect(await stack.web.ctx.changes.prune(Date.now() + (retention + 1) * DAY)).toBeGreaterThan(0);

    const gone = await bob.json("GET", "/api/changes?since=0");
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe("cursor_expired");
    expect(gone.body.error.message).toMatch(/Re-read the mirror/);
    expect(gone.body.head).toBe(head);
    const events = await bob.raw("GET", `/api/changes?since=${head - 1}`, {
      headers: { accept: "text/event-stream" },
    });
    expect(events.status).toBe(410);

    // From the head it goes on: the next change is numbered after it.
    const current = await bob.json<ChangePage>("GET", `/api/changes?since=${head}`);
    expect(current.status).toBe(200);
    expect(current.body).toEqual({ changes: [], next: head, more: false });
    await stack.simControl("POST", `/sim/accounts/${BOB}/messages`, { count: 2 });
    await sync(bob);
    const { changes } = await replay(bob, head);
    expect(changes[0]!.seq).toBe(head + 1);
    expect(changes.filter((c) => c.type === "message.added")).toHaveLength(2);
  });
});

describe("the change feed on a web node without Redis (streaming-fallback mode)", () => {
  let stack: Stack;
  let node: WebServer;
  const EMAIL = "feed-solo@example.com";

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    await stack.simControl("POST", "/sim/accounts", { email: EMAIL, count: 8 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = {
      ...stack.config,
      port,
      publicUrl: url,
      google: { ...stack.config.google, redirectUri: `${url}/auth/google/callback` },
    };
    node = await startWebServer(config, { migrate: false, withoutRedis: true });
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    await stack?.close();
  });

  it("a long-poll wakes on the streaming sync's writes on the same node, with no server-side emit attempted", async () => {
    const user = new ApiClient(node.url);
    await user.signIn(EMAIL);
    const head = (await user.json<ChangePage>("GET", "/api/changes")).body.next;
    const warnings: unknown[][] = [];
    const warn = vi.spyOn(console, "warn").mockImplementation((...args) => {
      warnings.push(args);
    });
    try {
      const polling = user.json<ChangePage>("GET", `/api/changes?since=${head}&wait=60`);
      await waitUntil(async () => node.ctx.changeSignal.size > 0, "the long-poll to wait");
      const stream = await user.raw("POST", "/api/emails/sync/stream");
      expect(stream.status).toBe(200);
      expect(
        (await stream.text())
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).state)
          .at(-1),
      ).toBe("completed");
      const page = await polling;
      expect(page.status).toBe(200);
      expect(page.body.changes[0]!.seq).toBe(head + 1);
      const all = await user.json<ChangePage>("GET", `/api/changes?since=${head}&limit=100`);
      expect(all.body.changes.filter((c) => c.type === "message.added")).toHaveLength(8);
      expect(warnings.filter((w) => String(w[0]).includes("serverSideEmit"))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  }, 60_000);
});
