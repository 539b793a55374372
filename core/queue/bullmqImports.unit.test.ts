import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** The production source: what runs in web, worker and the tools. Tests may drive BullMQ directly. */
const SOURCE_DIRS = ["core", "server", "worker", "client", "cli", "scripts", "gmail-sim"];
/** The queue module and the worker's BullMQ `Worker` are the only BullMQ users (issue 9). */
const ALLOWED = [/^core\/queue\//, /^worker\//];
const IMPORTS_BULLMQ = /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["']bullmq(?:\/[^"']*)?["']/;

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter(
      (entry) =>
        entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name) && !/\.(test|spec)\.ts$/.test(entry.name),
    )
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
}

describe("BullMQ has one home", () => {
  it("recognises every form of importing BullMQ, and nothing else", () => {
    for (const line of [
      'import { Queue } from "bullmq";',
      "import type { Job } from 'bullmq';",
      'const { Worker } = await import("bullmq");',
      'import "bullmq";',
      'export { Queue } from "bullmq";',
    ]) {
      expect(IMPORTS_BULLMQ.test(line), line).toBe(true);
    }
    expect(IMPORTS_BULLMQ.test('import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";')).toBe(false);
    expect(IMPORTS_BULLMQ.test('import { SyncQueue } from "../core/queue";')).toBe(false);
  });

  it("only core/queue/ and worker/ import bullmq", () => {
    const files = SOURCE_DIRS.flatMap(sourceFiles);
    expect(files).toContain("core/queue/SyncQueue.ts");
    const importers = files.filter((file) =>
      IMPORTS_BULLMQ.test(readFileSync(path.join(ROOT, file), "utf8")),
    );
    expect(importers).toContain("core/queue/SyncQueue.ts");
    expect(importers.filter((file) => !ALLOWED.some((allowed) => allowed.test(file)))).toEqual([]);
  });
});
