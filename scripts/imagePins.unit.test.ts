import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every image the deployment pulls is named by digest (docs/dependencies.md, "Images"): a tag alone
 * can be moved under us. The one image the compose file builds itself is exempt.
 */
const ROOT = path.resolve(import.meta.dirname, "..");
const BUILT_HERE = new Set(["inbox-sync"]);
const PINNED = /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/;

/** The images a Dockerfile's FROM lines pull: ARG defaults substituted, earlier stages skipped. */
function dockerfileImages(text: string): string[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/i.exec(line);
    if (arg) args.set(arg[1]!, arg[2]!);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (!from) continue;
    const image = from[1]!.replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (_, name: string) => args.get(name) ?? "",
    );
    if (!stages.has(image)) images.push(image);
    if (from[2]) stages.add(from[2]);
  }
  return images;
}

/** The `image:` values of a compose file (no YAML anchors or variables are used for them). */
function composeImages(text: string): string[] {
  return [...text.matchAll(/^\s*image:\s*["']?([^\s"'#]+)/gm)].map((m) => m[1]!);
}

describe("image pins", () => {
  it("reads FROM lines through ARG defaults and skips earlier stages", () => {
    const images = dockerfileImages(
      `ARG BASE=node:22@sha256:${"a".repeat(64)}\nFROM \${BASE} AS build\nFROM build AS test\nFROM $BASE\n`,
    );
    expect(images).toEqual([`node:22@sha256:${"a".repeat(64)}`, `node:22@sha256:${"a".repeat(64)}`]);
  });

  it("tells a pinned reference from a tag alone", () => {
    expect(PINNED.test(`nginx:1.30-alpine@sha256:${"0".repeat(64)}`)).toBe(true);
    expect(PINNED.test("nginx:1.30-alpine")).toBe(false);
    expect(PINNED.test(`nginx@sha256:${"0".repeat(64)}`)).toBe(false);
    expect(PINNED.test(`nginx:1.30-alpine@sha256:${"0".repeat(63)}`)).toBe(false);
  });

  it("the Dockerfile pulls its base by digest", () => {
    const images = dockerfileImages(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(PINNED);
  });

  it("every compose file pulls every image by digest, but the one it builds", () => {
    const files = readdirSync(ROOT).filter((f) => /^docker-compose.*\.ya?ml$/.test(f));
    expect(files).toContain("docker-compose.yml");
    const pulled = files.flatMap((f) => composeImages(readFileSync(path.join(ROOT, f), "utf8")));
    expect(pulled.filter((image) => !BUILT_HERE.has(image)).length).toBeGreaterThanOrEqual(3);
    for (const image of pulled) if (!BUILT_HERE.has(image)) expect(image).toMatch(PINNED);
  });
});
