// `npm start`'s first step: build only when the sources differ from what dist/ was built from.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sourceHash } from "./lib/sourceHash.mjs";

const STAMP = path.join("dist", ".source-hash");

const wanted = sourceHash();
const built = existsSync(STAMP) ? readFileSync(STAMP, "utf8").trim() : "";
if (built === wanted && existsSync(path.join("dist", "scripts", "start.js"))) {
  console.log("build: dist/ matches the sources, not rebuilt");
} else {
  const run = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
  writeFileSync(STAMP, `${wanted}\n`);
}
