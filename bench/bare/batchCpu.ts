import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { OAuth2Client } from "google-auth-library";
import { freePort } from "../../scripts/lib/devServices";
import { gmailClientFor } from "../../test/simGmail";

/**
 * `npx tsx bench/bare/batchCpu.ts [messages]`: the client's CPU per message fetched whole
 * (`format=full`), one `messages.get` per message (10 at once, what a sync does) against Gmail's
 * batch endpoint (100 gets per multipart request, 2 batches at once). The simulator runs in a
 * process of its own, so this process's CPU time (user + system) is the client's alone. The
 * batch side uses a minimal multipart codec: a library could only add to its cost. A third
 * variant, one plain `fetch` per message, separates the client library's cost from the round trip's.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const count = Number(process.argv[2] ?? 4_000);
const email = "batch-cpu@example.com";

async function main() {
  const port = await freePort();
  const sim: ChildProcess = spawn(process.execPath, ["--import", "tsx", "gmail-sim/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, SIM_PORT: String(port), SIM_HOST: "127.0.0.1", SIM_ACCOUNTS: `${email}:${count}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sim.stdout!.on("data", (d: Buffer) => String(d).includes("listening") && resolve());
      sim.once("exit", () => reject(new Error("the simulator exited")));
    });
    const url = `http://127.0.0.1:${port}`;
    const gmail = await gmailClientFor(url, email);
    const auth = (gmail as unknown as { context: { _options: { auth: OAuth2Client } } }).context._options
      .auth;
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await gmail.users.messages.list({ userId: "me", maxResults: 500, pageToken });
      for (const m of data.messages ?? []) ids.push(m.id!);
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);

    const single = async () => {
      let next = 0;
      let bytes = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!;
            const { data } = await gmail.users.messages.get({ userId: "me", id, format: "full" });
            bytes += data.sizeEstimate ? 1 : 0;
          }
        }),
      );
      return bytes;
    };
    const plain = async () => {
      const token = (await auth.getAccessToken()).token!;
      let next = 0;
      let got = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!;
            const res = await fetch(`${url}/gmail/v1/users/me/messages/${id}?format=full`, {
              headers: { authorization: `Bearer ${token}` },
            });
            if ((await res.json()).id) got++;
          }
        }),
      );
      return got;
    };
    const batched = async () => {
      const token = (await auth.getAccessToken()).token!;
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += 100) chunks.push(ids.slice(i, i + 100));
      let next = 0;
      let got = 0;
      await Promise.all(
        Array.from({ length: 2 }, async () => {
          while (next < chunks.length) {
            const chunk = chunks[next++]!;
            const boundary = `batch_${next}`;
            const body = `${chunk
              .map(
                (id, i) =>
                  `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=full\r\n\r\n`,
              )
              .join("")}--${boundary}--\r\n`;
            const res = await fetch(`${url}/batch/gmail/v1`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${token}`,
                "content-type": `multipart/mixed; boundary=${boundary}`,
              },
              body,
            });
            const type = res.headers.get("content-type")!;
            const outer = type.slice(type.indexOf("boundary=") + 9);
            const text = await res.text();
            for (const part of text.split(`--${outer}`).slice(1, -1)) {
              const start = part.indexOf("\r\n\r\n", part.indexOf("HTTP/1.1"));
              const message = JSON.parse(part.slice(start + 4));
              if (message.id) got++;
            }
          }
        }),
      );
      return got;
    };

    // The simulator's own CPU (utime + stime, in clock ticks of 10 ms), from /proc.
    const simCpuUs = () => {
      const fields = readFileSync(`/proc/${sim.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    };
    const measure = async (name: string, run: () => Promise<number>) => {
      const cpu = process.cpuUsage();
      const simBefore = simCpuUs();
      const t = performance.now();
      const n = await run();
      const used = process.cpuUsage(cpu);
      const ms = performance.now() - t;
      const perMessageUs = (used.user + used.system) / ids.length;
      const simPerMessageUs = (simCpuUs() - simBefore) / ids.length;
      return { name, n, perMessageUs, simPerMessageUs, rate: ids.length / (ms / 1000) };
    };
    const results = [];
    // Alternated, twice each: the machine is shared.
    for (let round = 0; round < 2; round++) {
      results.push(await measure("messages.get ×1, 10 at once", single));
      results.push(await measure("fetch() ×1, 10 at once", plain));
      results.push(await measure("batch of 100, 2 at once", batched));
    }
    for (const r of results)
      process.stdout.write(
        `${r.name}: ${r.perMessageUs.toFixed(0)} µs of client CPU per message, ${r.simPerMessageUs.toFixed(0)} µs of the simulator's, ${Math.round(r.rate)} messages/s (${r.n} answered)\n`,
      );
  } finally {
    sim.kill("SIGTERM");
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
