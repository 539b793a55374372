import { describe, expect, it } from "vitest";
import { resolveToken, TOKEN_FLAG_WARNING, TokenSourceError } from "./token";

const files: Record<string, string> = { "/run/secrets/isk": "isk_fromfile\n", "/empty": " \n" };
const read = (path: string) => {
  if (path in files) return files[path]!;
  throw Object.assign(new Error("no such file"), { code: "ENOENT" });
};

function resolve(sources: Parameters<typeof resolveToken>[0]) {
  const warnings: string[] = [];
  const token = resolveToken(sources, (line) => warnings.push(line), read);
  return { token, warnings };
}

describe("where the CLI takes its API token from", () => {
  it("reads INBOX_SYNC_TOKEN without a word", () => {
    expect(resolve({ env: "isk_fromenv" })).toEqual({ token: "isk_fromenv", warnings: [] });
  });

  it("reads --token-file, trimmed, and prefers it to the environment", () => {
    expect(resolve({ file: "/run/secrets/isk", env: "isk_fromenv" })).toEqual({
      token: "isk_fromfile",
      warnings: [],
    });
  });

  it("still takes --token, warning once that the command line shows it to others", () => {
    expect(resolve({ flag: "isk_fromflag", env: "isk_fromenv" })).toEqual({
      token: "isk_fromflag",
      warnings: [TOKEN_FLAG_WARNING],
    });
  });

  it("refuses both flags, an unreadable or empty file, and no token at all, saying which", () => {
    const refused = (sources: Parameters<typeof resolveToken>[0]) => {
      try {
        resolve(sources);
      } catch (err) {
        expect(err).toBeInstanceOf(TokenSourceError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refused({ flag: "a", file: "/run/secrets/isk" })).toBe("give --token or --token-file, not both");
    expect(refused({ file: "/missing" })).toBe("--token-file /missing could not be read (ENOENT)");
    expect(refused({ file: "/empty" })).toBe("--token-file /empty is empty");
    expect(refused({})).toMatch(/^an API token is needed in INBOX_SYNC_TOKEN or --token-file/);
  });

  it("with no token at all, says so (missing) and names the page where one is created", () => {
    try {
      resolveToken({}, () => {}, read, "https://mail.example.com/settings");
      throw new Error("accepted");
    } catch (err) {
      expect(err).toBeInstanceOf(TokenSourceError);
      expect((err as TokenSourceError).missing).toBe(true);
      expect((err as Error).message).toMatch(/create one at https:\/\/mail\.example\.com\/settings$/);
    }
    try {
      resolveToken({ file: "/missing" }, () => {}, read);
      throw new Error("accepted");
    } catch (err) {
      expect((err as TokenSourceError).missing).toBe(false);
    }
  });
});
