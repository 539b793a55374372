import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  deleteRedisPrefix,
  freePort,
  provisionRedis,
  provisionScratchDatabase,
} from "../scripts/lib/devServices";
import { ApiClient } from "../test/ApiClient";
import { type ServiceProcess, spawnWeb, spawnWorker } from "../test/processes";
import { GENEROUS_RATE_LIMITS } from "../test/rateLimits";
import { c1 } from "./rows/c1";
import type { BenchContext } from "./rows/context";
import { p1 } from "./rows/p1";
import { p2 } from "./rows/p2";
import { p3 } from "./rows/p3";
import { p4 } from "./rows/p4";
import { p5 } from "./rows/p5";
import { p6 } from "./rows/p6";
import { p7 } from "./rows/p7";
import { p8 } from "./rows/p8";
import { p9 } from "./rows/p9";
import { p10 } from "./rows/p10";
import { p11 } from "./rows/p11";
import { p12 } from "./rows/p12";
import { p13 } from "./rows/p13";
import { q1 } from "./rows/q1";
import { q2 } from "./rows/q2";
import { q3 } from "./rows/q3";
import { q4 } from "./rows/q4";
import { q5 } from "./rows/q5";
import { scale } from "./rows/scale";
import { type BenchRow, type BenchRun, machine, renderMarkdown, writeRun } from "./table";

/**
 * `npm run bench`: every goal of the benchmark table, each figure beside a baseline measured in
 * the same run on the same machine (the ratio is what travels between machines). A baseline is a
 * floor where one exists (the same work by the bare libraries, or a bound) and is marked a
 * reference where it is only something measured beside the figure. Every judged row with a cheap
 * floor runs three times, the app and its floor alternated, and is met when the median ratio
 * meets its goal. The real stack: two web processes, two worker processes, PostgreSQL, Redis and
 * the Gmail simulator.
 *
 * `npm run bench -- --quick` runs one toy-sized run of every row in a few minutes, so CI keeps
 * the suite working; it judges no goal. A full run writes bench/results/latest.json and
 * regenerates the table in docs/benchmarks.md from it.
 */

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");

const ROWS: Array<[string, (ctx: BenchContext) => Promise<BenchRow[]>]> = [
  ["P1", p1],
  ["P2", p2],
  ["P3", p3],
  ["P4", p4],
  ["P5", p5],
  ["P6", p6],
  ["P7", p7],
  ["P8", p8],
  ["P9", p9],
  ["P10", p10],
  ["P11", p11],
  ["P12", p12],
  ["P13", p13],
  ["Q3", q3],
  ["Q4", q4],
  ["Q5", q5],
  ["C1", c1],
  ["Q1", q1],
  ["Q2", q2],
  // The scale model's inputs (S1–S5): `--only=scale`.
  ["scale", scale],
];

/** The document whose benchmark table a full run regenerates, between these markers. */
const TABLE_DOC = path.resolve(import.meta.dirname, "..", "docs", "benchmarks.md");
const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

/** Puts the table of `run` between docs/benchmarks.md's bench markers. */
export function updateTableDoc(run: BenchRun): void {
  const text = readFileSync(TABLE_DOC, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/benchmarks.md has no ${START} … ${END} section`);
  writeFileSync(TABLE_DOC, `${text.slice(0, a + START.length)}\n${renderMarkdown(run)}\n${text.slice(b)}`);
}

/**
 * The Gmail simulator in a process of its own, as Google is: in the bench's process it would
 * share one thread with the clients that time pushes and fan-outs (P2, P10), and its work of
 * serving a sync would land in their figures.
 */
async function startSimulator(): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "gmail-sim/main.ts"], {
    cwd: path.resolve(import.meta.dirname, ".."),
    env: { ...process.env, SIM_PORT: String(port), SIM_HOST: "127.0.0.1", SIM_ACCOUNTS: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => String(d).includes("listening") && resolve());
    void exited.then(() => reject(new Error("the Gmail simulator exited before it listened")));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function main() {
  const run = randomBytes(3).toString("hex");
  const database = await provisionScratchDatabase(`inbox_sync_bench_${run}`, process.env.DATABASE_URL);
  const redis = await provisionRedis(process.env.REDIS_URL);
  if (!redis) throw new Error("the benchmark needs Redis");
  const queuePrefix = `inbox-sync-bench-${run}`;
  const sim = await startSimulator();
  const simControl = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${p}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };
  const services: ServiceProcess[] = [];
  const base = {
    databaseUrl: database.url,
    redisUrl: redis.url,
    queuePrefix,
    simUrl: sim.url,
    env: {
      ...GENEROUS_RATE_LIMITS,
      WORKER_CONCURRENCY: "10",
      // The stack's own speed: the simulator enforces no quota here, so neither do we.
      GMAIL_USER_UNITS_PER_SECOND: "0",
      GMAIL_PROJECT_UNITS_PER_SECOND: "0",
    },
  };
  const rows: BenchRow[] = [];
  try {
    const webA = await spawnWeb(base);
    const webB = await spawnWeb(base);
    services.push(webA, webB, await spawnWorker(base), await spawnWorker(base));
    let counter = 0;
    const ctx: BenchContext = {
      quick,
      webA: webA.url,
      webAPid: webA.child.pid!,
      webB: webB.url,
      redisUrl: redis.url,
      queuePrefix,
      databaseUrl: database.url,
      simUrl: sim.url,
      sim: simControl,
      log: (line) => process.stderr.write(`bench: ${line}\n`),
      async users(prefix, count, messages, url) {
        const made: ApiClient[] = [];
        // Sign-ins in small waves: the OAuth round trips are not what is measured.
        for (let i = 0; i < count; i += 20) {
          const wave = Array.from({ length: Math.min(20, count - i) }, async () => {
            const email = `${prefix}-${counter++}@example.com`;
            await simControl("POST", "/sim/accounts", { email, count: messages });
            const client = new ApiClient(url);
            await client.signIn(email);
            return client;
          });
          made.push(...(await Promise.all(wave)));
        }
        return made;
      },
    };
    for (const [id, row] of ROWS) {
      if (only && !only.includes(id)) continue;
      ctx.log(`${id}…`);
      rows.push(...(await row(ctx)));
    }
  } finally {
    await Promise.allSettled(services.map((s) => s.stop()));
    await sim.close();
    await deleteRedisPrefix(redis.url, queuePrefix).catch(() => {});
    await redis.stop();
    await database.drop();
  }

  const result: BenchRun = { at: new Date().toISOString(), quick, machine: machine(), rows };
  process.stdout.write(`${renderMarkdown(result)}\n`);
  const { file, merged } = writeRun(result);
  process.stderr.write(`bench: written to ${path.relative(process.cwd(), file)}\n`);
  // BENCH_NO_README=1: figures go to latest.json only (the document's table is merged by hand).
  if (!quick && !process.env.BENCH_NO_README) {
    updateTableDoc(merged);
    process.stderr.write("bench: docs/benchmarks.md's benchmark table regenerated from it\n");
  }
  // A quick run judges no speed; a row it marks not met found something broken (a refused
  // request, a sync that did not complete), and CI must hear of it.
  if (quick && rows.some((r) => r.met === false)) {
    process.stderr.write("bench: a quick row failed its correctness check\n");
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
