import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dropDatabase, ensureDatabase, freePort } from "../../scripts/lib/devServices";
import type { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";
import { migrate } from "./migrator";
import { createDatabase } from "./sequelize";

/**
 * The app through PgBouncer in transaction mode: a web node and a worker whose pools (20 and 6
 * connections) share 3 server connections, so consecutive statements of one client land on
 * different server connections and any session state (a plain SET, a session advisory lock,
 * LISTEN, a temporary table, a named prepared statement) would be lost or leak between clients.
 * The database's own time zone is +13:45 (Pacific/Chatham) so that a time-zone SET lost on the way
 * would move every date and break the keyset cursor.
 *
 * Needs the `pgbouncer` binary (Debian: `apt-get install pgbouncer`); without it the suite is
 * skipped and says so.
 */
const HAS_PGBOUNCER = spawnSync("pgbouncer", ["--version"]).status === 0;
const SERVER_CONNECTIONS = 3;

interface Bouncer {
  url: string;
  admin: () => Promise<pg.Client>;
  stop(): Promise<void>;
}

async function startPgBouncer(databaseUrl: string): Promise<Bouncer> {
  const target = new URL(databaseUrl);
  const user = decodeURIComponent(target.username || "postgres");
  const password = decodeURIComponent(target.password);
  const database = target.pathname.slice(1);
  const port = await freePort();
  // pgbouncer refuses to run as root; it then drops to the `postgres` user, who must read these.
  const dir = mkdtempSync(path.join(tmpdir(), "inbox-sync-pgbouncer-"));
  chmodSync(dir, 0o755);
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text, { mode: 0o644 });
    return path.join(dir, name);
  };
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const userlist = file("userlist.txt", `${quote(user)} ${quote(password)}\n`);
  const ini = file(
    "pgbouncer.ini",
    `[databases]
${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = plain
auth_file = ${userlist}
admin_users = ${user}
pool_mode = transaction
default_pool_size = ${SERVER_CONNECTIONS}
max_client_conn = 500
`,
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn("pgbouncer", [...(asRoot ? ["-u", "postgres"] : []), ini], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d) => {
    log += d;
  });
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  const admin = async () => {
    const a = new URL(url);
    a.pathname = "/pgbouncer";
    const client = new pg.Client({ connectionString: a.toString() });
    await client.connect();
    return client;
  };
  for (let i = 0; ; i++) {
    try {
      await (await admin()).end();
      break;
    } catch (error) {
      if (i > 50 || child.exitCode !== null) throw new Error(`pgbouncer did not start: ${log || error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: url.toString(),
    admin,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// CI installs pgbouncer (.ci/run), so there a missing binary fails the suite instead of skipping it.
describe.skipIf(!HAS_PGBOUNCER && !process.env.CI)(
  "through PgBouncer in transaction mode (3 server connections)",
  () => {
    const server = new URL(inject("databaseUrl"));
    server.pathname = "/postgres";
    const name = `inbox_sync_pgbouncer_${randomBytes(3).toString("hex")}`;
    let bouncer: Bouncer;
    let stack: Stack;

    beforeAll(async () => {
      const direct = await ensureDatabase(server.toString(), name);
      // Migrations run on a direct connection, as the release step should (docs/database.md, "PgBouncer").
      const db = createDatabase(direct);
      try {
        await migrate(db);
        await db.query(`ALTER DATABASE "${name}" SET timezone TO 'Pacific/Chatham'`);
      } finally {
        await db.close();
      }
      bouncer = await startPgBouncer(direct);
      stack = await startStack({ env: { DATABASE_URL: bouncer.url } });
    }, 120_000);

    afterAll(async () => {
      await stack?.close();
      await bouncer?.stop();
      await dropDatabase(server.toString(), name);
    });

    async function sync(client: ApiClient) {
      const { status, body } = await client.json("POST", "/api/emails/sync");
      expect(status).toBe(202);
      const { final } = await waitForTask(client, body.taskId, 120_000);
      expect(final.state).toBe("completed");
    }

    /** Every stored id, walking the API's keyset cursor page by page. */
    async function allPages(client: ApiClient, query = ""): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const qs: URLSearchParams = new URLSearchParams({ limit: "97", ...(cursor ? { cursor } : {}) });
        const { status, body } = await client.json<{
          emails: Array<{ id: string }>;
          nextCursor: string | null;
        }>("GET", `/api/emails?${qs}${query}`);
        expect(status).toBe(200);
        ids.push(...body.emails.map((e) => e.id));
        cursor = body.nextCursor;
      } while (cursor);
      return ids;
    }

    it("sign-in, full and incremental syncs of 4 users at once, list, search, paging and account deletion all work on 3 shared server connections", async () => {
      const admin = await bouncer.admin();
      let peakClients = 0;
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const clients = (await admin.query("SHOW CLIENTS")).rows.filter((c) => c.database === name);
          peakClients = Math.max(peakClients, clients.length);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        const emails = [1, 2, 3, 4].map((i) => `bouncer-${i}@example.com`);
        for (const email of emails) await stack.simControl("POST", "/sim/accounts", { email, count: 400 });
        const clients = await Promise.all(emails.map((email) => stack.signIn(email)));
        await Promise.all(clients.map(sync));

        for (const email of emails) {
          await stack.simControl("POST", `/sim/accounts/${email}/messages`, { count: 25 });
          const gone = (await stack.control.messages(email)).slice(30, 35);
          for (const m of gone) await stack.simControl("DELETE", `/sim/accounts/${email}/messages/${m.id}`);
        }
        await Promise.all(clients.map(sync));

        await Promise.all(
          emails.map(async (email, i) => {
            const client = clients[i]!;
            const expected = (await stack.control.messages(email)).map((m) => m.id);
            // Newest first, each exactly once, across pages whose cursor dates went through the pooler.
            expect(await allPages(client)).toEqual(expected);
            expect((await client.json("GET", "/api/me")).body.emailCount).toBe(expected.length);

            const one = await stack.control.message(email, expected[7]!);
            const detail = await client.json("GET", `/api/emails/${expected[7]}`);
            expect(detail.status).toBe(200);
            expect(new Date(detail.body.date).getTime()).toBe(Number(one.internalDate));
            const word = one.subject.split(/\s+/).find((w) => /^[A-Za-z]{4,}$/.test(w));
            if (word) {
              const found = await client.json("GET", `/api/emails?q=${encodeURIComponent(word)}&limit=200`);
              expect(found.status).toBe(200);
              expect(found.body.emails.map((e: { id: string }) => e.id)).toContain(expected[7]);
            }
          }),
        );

        // The pooler really multiplexed: more clients than server connections, in one transaction pool.
        watching = false;
        await watch;
        const pools = (await admin.query("SHOW POOLS")).rows.filter((p) => p.database === name);
        expect(pools).toHaveLength(1);
        expect(pools[0]!.pool_mode).toBe("transaction");
        const servers = (await admin.query("SHOW SERVERS")).rows.filter((c) => c.database === name);
        expect(servers.length).toBeLessThanOrEqual(SERVER_CONNECTIONS);
        expect(peakClients).toBeGreaterThan(SERVER_CONNECTIONS);
        const stats = (await admin.query("SHOW STATS")).rows.find((row) => row.database === name);
        console.info(
          `through pgbouncer: up to ${peakClients} client connections on ${servers.length} server connections; ${stats?.total_xact_count} transactions, ${stats?.total_query_count} queries`,
        );

        expect((await clients[0]!.json("DELETE", "/api/account")).status).toBe(204);
        const again = await stack.signIn(emails[0]!);
        expect((await again.json("GET", "/api/me")).body.emailCount).toBe(0);
      } finally {
        watching = false;
        await watch.catch(() => {});
        await admin.end();
      }
    });
  },
);
