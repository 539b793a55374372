// Plain JavaScript: `npm start` loads it before any TypeScript tooling, so it starts in milliseconds.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** What the build reads: every source folder and the dependency set. Tests are not built. */
const INPUTS = ["cli", "client", "core", "gmail-sim", "scripts", "server", "worker"];
const FILES = ["package-lock.json", "tsconfig.json"];

function* sourceFiles(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (!entry.name.endsWith(".test.ts")) yield full;
  }
}

/**
 * A hash of every build input's path and bytes, not of mtimes: a fresh checkout or a `touch`
 * that changes nothing keeps it, any edit changes it.
 */
export function sourceHash(root = ".") {
  const hash = createHash("sha256");
  const files = [
    ...INPUTS.flatMap((dir) => [...sourceFiles(path.join(root, dir))]),
    ...FILES.map((f) => path.join(root, f)),
  ]
    .map((file) => path.relative(root, file))
    .sort();
  for (const file of files) {
    const full = path.join(root, file);
    if (!existsSync(full) || !statSync(full).isFile()) continue;
    hash.update(file).update("\0").update(readFileSync(full)).update("\0");
  }
  return hash.digest("hex");
}
