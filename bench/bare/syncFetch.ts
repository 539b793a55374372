import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { type Models, openDatabase } from "../../core/db/sequelize";
import { gmailBatches } from "../../core/gmail/GmailBatch";
import { EmailRepository } from "../../core/repositories/email.repository";
import { syncMailbox } from "../../core/sync/syncMailbox";
import { freePort, provisionScratchDatabase } from "../../scripts/lib/devServices";
import { gmailClientFor } from "../../test/simGmail";

/**
 * `npx tsx bench/bare/syncFetch.ts [messages] [size:lanes ...]`: syncMailbox alone (no queue, no
 * web, no progress writes) into PostgreSQL against the simulator in a process of its own, once per
 * way of fetching: `1:10` is one `messages.get` per message on 10 lanes, `50:20` is batches of up
 * to 50 on 20 lanes (two requests of 10 in flight), `50:50:2` the same on 50 lanes writing two
 * batches at once (a third number: upserts at once, default 1). Alternated, twice each, as the
 * machine is shared. Prints messages/s and this process's CPU per message (the worker's share).
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const count = Number(process.argv[2] ?? 5_000);
const ways = (process.argv.length > 3 ? process.argv.slice(3) : ["1:10", "50:10", "50:20", "50:50"]).map(
  (w) => {
    const [size, lanes] = w.split(":").map(Number);
    return { size: size!, lanes: lanes! };
  },
);

async function main() {
  const port = await freePort();
  const users = ways.length * 2;
  const accounts = Array.from({ length: users }, (_, i) => `sync-fetch-${i}@example.com:${count}`).join(",");
  const sim: ChildProcess = spawn(process.execPath, ["--import", "tsx", "gmail-sim/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, SIM_PORT: String(port), SIM_HOST: "127.0.0.1", SIM_ACCOUNTS: accounts },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const database = await provisionScratchDatabase(
    `inbox_sync_syncfetch_${randomBytes(3).toString("hex")}`,
    process.env.DATABASE_URL,
  );
  const { sequelize, models, close } = openDatabase(database.url);
  try {
    await new Promise<void>((resolve, reject) => {
      sim.stdout!.on("data", (d: Buffer) => String(d).includes("listening") && resolve());
      sim.once("exit", () => reject(new Error("the simulator exited")));
    });
    const url = `http://127.0.0.1:${port}`;
    let user = 0;
    const run = async (size: number, lanes: number) => {
      const email = `sync-fetch-${user++}@example.com`;
      const gmail = await gmailClientFor(url, email);
      const row = await (models as Models).User.create({ email });
      await models.GmailAccount.create({ userId: row.id, email, encryptedTokens: "unused-here" });
      const store = new EmailRepository(sequelize, row.id);
      const cpu = process.cpuUsage();
      const t = performance.now();
      const result = await syncMailbox(gmail, store, () => {}, {
        concurrency: lanes,
        messages: gmailBatches(size),
      });
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      return {
        way: `${size === 1 ? "messages.get ×1" : `batches of ≤ ${size}`}, ${lanes} lanes`,
        rate: result.added / (ms / 1000),
        cpuUs: (used.user + used.system) / result.added,
      };
    };
    const results = [];
    for (let round = 0; round < 2; round++) {
      for (const w of ways) results.push(await run(w.size, w.lanes));
    }
    for (const r of results)
      process.stdout.write(
        `${r.way}: ${Math.round(r.rate)} messages/s, ${r.cpuUs.toFixed(0)} µs of sync CPU per message\n`,
      );
  } finally {
    sim.kill("SIGTERM");
    await close();
    await database.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
