import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createGmailSimulator } from "../gmail-sim/server";
import { deleteRedisPrefix, provisionRedis, provisionScratchDatabase } from "../scripts/lib/devServices";
import { ApiClient } from "../test/ApiClient";
import { spawnWeb, spawnWorker } from "../test/processes";
import { percentile } from "../test/pushLatency";
import { GENEROUS_RATE_LIMITS } from "../test/rateLimits";
import { finished } from "./rows/context";

/**
 * `npx tsx bench/profile.ts [dir]`: the P1 burst (200 distinct users pressing Fetch at once, then
 * the same users loading /api/me at once) against one web process under V8's CPU profiler (what `--cpu-prof`
 * records; bench/cpuProfile.preload.mjs), and a
 * summary of where its CPU went, by function and by package. The profile itself is written to
 * `dir` (default .data/profiles) for Chrome DevTools or speedscope.
 */

const dir = path.resolve(process.argv[2] ?? ".data/profiles");
const USERS = 200;
const ROUNDS = 5;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function summarise(file: string): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    total += dt;
    const where = frame.url.replace(/^file:\/\//, "");
    const pkg =
      where.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ??
      (where.startsWith("node:") || where === "" ? frame.functionName || "(native)" : "(app)");
    const name = `${frame.functionName || "(anonymous)"} ${path.basename(where)}:${frame.lineNumber + 1}`;
    if (!["(idle)", "(program)"].includes(frame.functionName)) self.set(name, (self.get(name) ?? 0) + dt);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n");
  return `by package (self time):\n${top(byPackage, 15)}\n\nby function (self time):\n${top(self, 25)}`;
}

async function main() {
  const run = randomBytes(3).toString("hex");
  const database = await provisionScratchDatabase(`inbox_sync_profile_${run}`, process.env.DATABASE_URL);
  const redis = await provisionRedis(process.env.REDIS_URL);
  if (!redis) throw new Error("profiling needs Redis");
  const sim = createGmailSimulator();
  await sim.listen(0, "127.0.0.1");
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const base = {
    databaseUrl: database.url,
    redisUrl: redis.url,
    queuePrefix: `inbox-sync-profile-${run}`,
    simUrl: sim.url,
    env: { ...GENEROUS_RATE_LIMITS, GMAIL_USER_UNITS_PER_SECOND: "0", GMAIL_PROJECT_UNITS_PER_SECOND: "0" },
  };
  const worker = await spawnWorker(base);
  // Node 20 does not take --cpu-prof in NODE_OPTIONS; the preload runs the same profiler.
  const preload = path.resolve(import.meta.dirname, "cpuProfile.preload.mjs");
  const web = await spawnWeb({
    ...base,
    env: { ...base.env, NODE_OPTIONS: `--import ${preload}`, CPU_PROFILE_DIR: dir },
  });
  try {
    const users: ApiClient[] = [];
    for (let i = 0; i < USERS; i += 20) {
      const wave = Array.from({ length: Math.min(20, USERS - i) }, async (_, k) => {
        const email = `profile-${i + k}@example.com`;
        await fetch(`${sim.url}/sim/accounts`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, count: 1 }),
        });
        const client = new ApiClient(web.url);
        await client.signIn(email);
        return client;
      });
      users.push(...(await Promise.all(wave)));
    }
    const timed = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    for (let round = 0; round < ROUNDS; round++) {
      const tasks: string[] = [];
      const post = await Promise.all(
        users.map((u, i) =>
          timed(async () => {
            tasks[i] = (await u.json("POST", "/api/emails/sync")).body.taskId;
          }),
        ),
      );
      // Every task finishes before the next round, so each round's POSTs create tasks as P1's
      // burst does; a POST while its user's task still runs would only join it.
      // One user at a time: 200 clients polling at once would be the profile's largest load.
      for (const [i, u] of users.entries()) await finished(u, tasks[i]!);
      await new Promise((r) => setTimeout(r, 1_500));
      const me = await Promise.all(users.map((u) => timed(() => u.json("GET", "/api/me"))));
      process.stderr.write(
        `round ${round + 1}: POST p50 ${percentile(post, 50).toFixed(1)} p99 ${percentile(post, 99).toFixed(1)} ms; ` +
          `/api/me p50 ${percentile(me, 50).toFixed(1)} p99 ${percentile(me, 99).toFixed(1)} ms\n`,
      );
    }
  } finally {
    await web.stop(15_000);
    await worker.stop();
    await sim.close();
    await deleteRedisPrefix(redis.url, base.queuePrefix).catch(() => {});
    await redis.stop();
    await database.drop();
  }
  const written = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
  for (const f of written) process.stdout.write(`${path.join(dir, f)}\n${summarise(path.join(dir, f))}\n`);
  if (written.length === 0) process.stderr.write("no profile written: did the web process exit cleanly?\n");
}

main().catch((err) => {
  process.stderr.write(`profile failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
