import { readFileSync } from "node:fs";
import { createGmailSimulator } from "../gmail-sim/server";
import { deleteRedisPrefix, provisionRedis, provisionScratchDatabase } from "../scripts/lib/devServices";
import { spawnWorker } from "../test/processes";

/** `npx tsx bench/idleRss.ts`: one worker process's resident memory once it is up and idle. */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

async function main() {
  const database = await provisionScratchDatabase(`inbox_sync_rss_${process.pid}`, process.env.DATABASE_URL);
  const redis = await provisionRedis(process.env.REDIS_URL);
  if (!redis) throw new Error("needs Redis");
  const sim = createGmailSimulator();
  await sim.listen(0, "127.0.0.1");
  const queuePrefix = `inbox-sync-rss-${process.pid}`;
  const worker = await spawnWorker({
    databaseUrl: database.url,
    redisUrl: redis.url,
    queuePrefix,
    simUrl: sim.url,
  });
  try {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      samples.push(rssOf(worker.child.pid!).rssMb);
    }
    process.stdout.write(`worker idle RSS: ${samples.map((s) => s.toFixed(0)).join(", ")} MB\n`);
  } finally {
    await worker.stop();
    await sim.close();
    await deleteRedisPrefix(redis.url, queuePrefix).catch(() => {});
    await redis.stop();
    await database.drop();
  }
}

if (process.argv[1]?.endsWith("idleRss.ts"))
  main().catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  });
