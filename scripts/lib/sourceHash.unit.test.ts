import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sourceHash } from "./sourceHash.mjs";

describe("sourceHash, which decides whether npm start rebuilds", () => {
  const roots: string[] = [];
  const tree = () => {
    const root = mkdtempSync(path.join(tmpdir(), "source-hash-"));
    roots.push(root);
    mkdirSync(path.join(root, "server"));
    writeFileSync(path.join(root, "server", "app.ts"), "export const a = 1;\n");
    writeFileSync(path.join(root, "server", "app.test.ts"), "test\n");
    writeFileSync(path.join(root, "package-lock.json"), "{}\n");
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it("stays the same when files are only touched", () => {
    const root = tree();
    const before = sourceHash(root);
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, "server", "app.ts"), later, later);
    expect(sourceHash(root)).toBe(before);
  });

  it("changes when a source's bytes change, a source is added, or the lockfile changes", () => {
    const root = tree();
    const seen = new Set([sourceHash(root)]);
    writeFileSync(path.join(root, "server", "app.ts"), "export const a = 2;\n");
    seen.add(sourceHash(root));
    writeFileSync(path.join(root, "server", "extra.ts"), "\n");
    seen.add(sourceHash(root));
    writeFileSync(path.join(root, "package-lock.json"), '{"v":2}\n');
    seen.add(sourceHash(root));
    expect(seen.size).toBe(4);
  });

  it("ignores test files, which the build does not read", () => {
    const root = tree();
    const before = sourceHash(root);
    writeFileSync(path.join(root, "server", "app.test.ts"), "changed\n");
    expect(sourceHash(root)).toBe(before);
  });
});
