import { cpSync, mkdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

/**
 * Bundles each process entry point into dist/ (dependencies stay in node_modules) and the
 * browser app into dist/client. Type-checking is `tsc --noEmit`, run before this by `npm run build`.
 */
const entries = {
  "server/main": "server/main.ts",
  "worker/main": "worker/main.ts",
  "gmail-sim/main": "gmail-sim/main.ts",
  "scripts/migrate": "scripts/migrate.ts",
  "scripts/rotate-keys": "scripts/rotate-keys.ts",
  "scripts/start": "scripts/start.ts",
  "cli/inbox-sync": "cli/inbox-sync.ts",
};

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
  // Bundled ESM has no __dirname; the code uses import.meta.dirname, which stays correct in dist/.
});

mkdirSync("dist/client", { recursive: true });
await build({
  entryPoints: { app: "client/src/main.ts" },
  outdir: "dist/client",
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
cpSync("client/index.html", "dist/client/index.html");
cpSync("client/styles.css", "dist/client/styles.css");
cpSync("client/favicon.svg", "dist/client/favicon.svg");
console.log("built dist/ (server, worker, gmail-sim, scripts, client)");
