import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { type Models, openDatabase } from "../../core/db/sequelize";
import { gmailBatches } from "../../core/gmail/GmailBatch";
import { EmailRepository } from "../../core/repositories/email.repository";
import type { MailMessage } from "../../core/sync/MailStore";
import { MemoryMailStore } from "../../core/sync/MemoryMailStore";
import { syncMailbox } from "../../core/sync/syncMailbox";
import { freePort, provisionScratchDatabase } from "../../scripts/lib/devServices";
import { gmailClientFor } from "../../test/simGmail";

/**
 * `npx tsx bench/bare/writePath.ts [messages] [variant,...]`: what PostgreSQL spends storing
 * whole messages, and on what. Fetches a simulated mailbox once into memory, then writes it with
 * `EmailRepository.upsert` in batches of 100 (the sync's) into a fresh database per variant:
 * `asis` (the migrated schema), `notrgm` (without the trigram index of the substring search),
 * `notsv` (without the full-text column and its GIN index), `nosearch` (without both). Alternated,
 * twice each, as the machine is shared. Prints messages/s, ms per batch, and this process's CPU
 * per batch (the worker's share of a write).
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const BATCH = 100;
const count = Number(process.argv[2] ?? 10_000);
const VARIANTS: Record<string, string> = {
  asis: "",
  notrgm: "DROP INDEX IF EXISTS emails_search_trgm_idx",
  notsv: "ALTER TABLE emails DROP COLUMN search_vector",
  nosearch: "ALTER TABLE emails DROP COLUMN search_vector; DROP INDEX IF EXISTS emails_search_trgm_idx",
};
const variants = (process.argv[3] ?? Object.keys(VARIANTS).join(",")).split(",");

async function mailbox(): Promise<MailMessage[]> {
  const port = await freePort();
  const sim: ChildProcess = spawn(process.execPath, ["--import", "tsx", "gmail-sim/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      SIM_PORT: String(port),
      SIM_HOST: "127.0.0.1",
      SIM_ACCOUNTS: `w@example.com:${count}`,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sim.stdout!.on("data", (d: Buffer) => String(d).includes("listening") && resolve());
      sim.once("exit", () => reject(new Error("the simulator exited")));
    });
    const memory = new MemoryMailStore();
    const gmail = await gmailClientFor(`http://127.0.0.1:${port}`, "w@example.com");
    await syncMailbox(gmail, memory, () => {}, { concurrency: 20, messages: gmailBatches(50) });
    return [...memory.mailbox.messages.values()];
  } finally {
    sim.kill("SIGTERM");
  }
}

async function main() {
  const messages = await mailbox();
  const chars = messages.reduce((n, m) => n + (m.body?.text?.length ?? 0) + (m.body?.html?.length ?? 0), 0);
  process.stdout.write(
    `${messages.length} messages, ${Math.round(chars / messages.length)} body characters each\n`,
  );
  for (let round = 0; round < 2; round++) {
    for (const variant of variants) {
      if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`);
      const database = await provisionScratchDatabase(
        `inbox_sync_writepath_${randomBytes(3).toString("hex")}`,
        process.env.DATABASE_URL,
      );
      const { sequelize, models, close } = openDatabase(database.url);
      try {
        if (VARIANTS[variant]) await sequelize.query(VARIANTS[variant]);
        const email = "w@example.com";
        const user = await (models as Models).User.create({ email });
        await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
        const store = new EmailRepository(sequelize, user.id);
        const batches = Math.ceil(messages.length / BATCH);
        const cpu = process.cpuUsage();
        const t = performance.now();
        for (let i = 0; i < messages.length; i += BATCH) await store.upsert(messages.slice(i, i + BATCH));
        const ms = performance.now() - t;
        const used = process.cpuUsage(cpu);
        process.stdout.write(
          `${variant.padEnd(9)} ${Math.round(messages.length / (ms / 1000))} messages/s, ${(ms / batches).toFixed(1)} ms a batch of ${BATCH}, ${((used.user + used.system) / 1000 / batches).toFixed(1)} ms of it in this process\n`,
        );
      } finally {
        await close();
        await database.drop();
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
