import { createHash } from "node:crypto";
import path from "node:path";
import { loadConfig, runMain } from "../core/config";
import { createGmailSimulator } from "../gmail-sim/server";
import { startWebServer } from "../server/WebServer";
import { startSyncWorker } from "../worker/SyncWorker";
import { ensureDatabase, provisionPostgres, provisionRedis, redisAnswers } from "./lib/devServices";

/**
 * `npm start`: the whole product on one machine with no setup — PostgreSQL (DATABASE_URL or an
 * embedded one under .data/), Redis (REDIS_URL, the local one, or a redis-server it starts), the
 * Gmail simulator with demo mailboxes unless Google credentials are configured, a web node and
 * a worker. Without any Redis it still runs, in streaming-fallback mode.
 */
void runMain("start", async () => {
  const env = process.env;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const dataDir = env.DATA_DIR ?? ".data";

  const postgres = await provisionPostgres({
    url: env.DATABASE_URL,
    dir: `${dataDir}/postgres`,
    port: Number(env.EMBEDDED_PG_PORT ?? 54329),
    persistent: true,
  });
  const databaseUrl = env.DATABASE_URL ?? (await ensureDatabase(postgres.url, "inbox_sync"));
  say(`postgres: ${postgres.source}`);

  let redis = await provisionRedis(env.REDIS_URL);
  if (redis && !(await redisAnswers(redis.url))) {
    say(`redis:    ${redis.url} does not answer`);
    redis = null;
  }
  say(
    redis
      ? `redis:    ${redis.source}`
      : "redis:    none found — running in streaming-fallback mode (no queue, no worker)",
  );

  let simUrl = env.GMAIL_SIM_URL;
  let sim: ReturnType<typeof createGmailSimulator> | undefined;
  if (!env.GOOGLE_CLIENT_ID && !simUrl) {
    const accounts = (env.SIM_ACCOUNTS ?? "alice@example.com:1200,bob@example.com:300")
      .split(",")
      .map((pair) => {
        const [email, count] = pair.split(":");
        return { email: email!.trim(), count: Number(count ?? 100) };
      });
    // The demo shows mail arriving by itself: the simulator publishes signed Pub/Sub pushes to
    // this node's webhook, as Google does once GMAIL_PUSH_TOPIC is set.
    const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT ?? 3000}`).replace(/\/$/, "");
    sim = createGmailSimulator({ accounts, pushEndpoint: `${publicUrl}/webhooks/gmail` });
    simUrl = (await sim.listen(Number(env.SIM_PORT ?? 4010), "127.0.0.1")).replace(/\/$/, "");
    say(`gmail:    simulator on ${simUrl} with ${accounts.map((a) => `${a.email} (${a.count})`).join(", ")}`);
  }

  // Two local checkouts on one Redis must not share queues, sessions or progress: each data
  // folder gets its own prefix, stable across restarts so queued work is found again.
  const queuePrefix =
    env.QUEUE_PREFIX ??
    `inbox-sync-${createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 8)}`;
  if (redis) say(`prefix:   ${queuePrefix}`);

  const config = loadConfig({
    ...env,
    QUEUE_PREFIX: queuePrefix,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis?.url,
    GMAIL_SIM_URL: simUrl,
    // Google's 250 units/s would make the demo mailboxes take half a minute; 1,000 shows the
    // progress bar at work for a few seconds.
    ...(sim && !env.GMAIL_USER_UNITS_PER_SECOND ? { GMAIL_USER_UNITS_PER_SECOND: "1000" } : {}),
    ...(sim && !env.GMAIL_PUSH_TOPIC ? { GMAIL_PUSH_TOPIC: "projects/inbox-sync-demo/topics/gmail" } : {}),
  });
  const worker = redis ? await startSyncWorker(config, { migrate: true }) : null;
  const web = await startWebServer(config, { migrate: true, withoutRedis: !redis });
  say(`\ninbox-sync is ready: ${config.publicUrl}\n`);

  const stop = async () => {
    await worker?.close();
    await web.close();
    await sim?.close();
    await redis?.stop();
    await postgres.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
});
