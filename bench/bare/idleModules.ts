import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

/**
 * `npx tsx bench/bare/idleModules.ts`: what a worker's idle memory is made of. Each line is a
 * fresh Node process that imports one package (or the worker's whole module graph, without
 * starting it), collects garbage and reports its resident set and V8 heap; the first line is
 * Node alone. Run under plain `node` for packages and under tsx for the TypeScript sources, as
 * the bench's processes run.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const targets = [
  "",
  "@googleapis/gmail",
  "google-auth-library",
  "sequelize",
  "pg",
  "bullmq",
  "ioredis",
  "zod",
  "iconv-lite",
  "umzug",
  "prom-client",
  "@socket.io/redis-emitter",
  "@bull-board/api/bullMQAdapter",
];

function measure(spec: string, tsx: boolean): string {
  const load = spec ? `await import(${JSON.stringify(spec)});` : "";
  const code = `${load} globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); globalThis.gc();
const m = process.memoryUsage(); console.log(JSON.stringify({ rss: m.rss, heap: m.heapUsed, ext: m.external }));`;
  const args = ["--expose-gc", ...(tsx ? ["--import", "tsx"] : []), "--input-type=module", "-e", code];
  const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  const m = JSON.parse(out.trim().split("\n").at(-1)!);
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return `${spec || "(node alone)"}${tsx ? " [tsx]" : ""}: RSS ${mb(m.rss)} MB, heap ${mb(m.heap)} MB, external ${mb(m.ext)} MB`;
}

for (const t of targets) process.stdout.write(`${measure(t, false)}\n`);
process.stdout.write(`${measure("", true)}\n`);
process.stdout.write(`${measure(path.join(ROOT, "worker/SyncWorker.ts"), true)}\n`);
// The worker's graph bundled as `npm run build` bundles it (packages external), under plain node:
// what production runs, without the TypeScript loader.
mkdirSync(path.join(ROOT, ".data"), { recursive: true });
// Inside the project, so that its packages resolve.
const out = path.join(mkdtempSync(path.join(ROOT, ".data", "idle-")), "SyncWorker.mjs");
await build({
  entryPoints: [path.join(ROOT, "worker/SyncWorker.ts")],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
  absWorkingDir: ROOT,
});
process.stdout.write(`${measure(out, false).replace(out, "worker/SyncWorker.ts bundled")}\n`);
// The same with the packages a worker loads but never uses (the dashboard's queue adapter, the
// migration runner) replaced by empty modules: what importing them lazily would save.
const lean = out.replace(/\.mjs$/, "-lean.mjs");
await build({
  entryPoints: [path.join(ROOT, "worker/SyncWorker.ts")],
  outfile: lean,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
  absWorkingDir: ROOT,
  plugins: [
    {
      name: "stub-unused",
      setup(b) {
        b.onResolve({ filter: /^(@bull-board\/api\/bullMQAdapter|umzug)$/ }, (a) => ({
          path: a.path,
          namespace: "stub",
        }));
        b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
          contents: "export class BullMQAdapter {} export class Umzug {} export class SequelizeStorage {}",
        }));
      },
    },
  ],
});
process.stdout.write(
  `${measure(lean, false).replace(lean, "the same without bull-board's adapter and umzug")}\n`,
);
