import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EnvError, parseAccounts, readEnv } from "./env";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));

describe("environment", () => {
  it("has the documented defaults", () => {
    expect(readEnv({})).toEqual({
      port: 4010,
      accounts: [
        { email: "alice@example.com", count: 1200 },
        { email: "bob@example.com", count: 300 },
      ],
      log: false,
    });
  });

  it("parses accounts and names the variable when something is wrong", () => {
    expect(parseAccounts(" A@x.io:3 , b@y.io:0 ")).toEqual([
      { email: "a@x.io", count: 3 },
      { email: "b@y.io", count: 0 },
    ]);
    expect(() => parseAccounts("a@x.io")).toThrow(/SIM_ACCOUNTS/);
    expect(() => parseAccounts("nobody:3")).toThrow(EnvError);
    expect(() => parseAccounts("a@x.io:1,a@x.io:2")).toThrow(/twice/);
    expect(() => readEnv({ SIM_PORT: "99999" })).toThrow(/SIM_PORT/);
    expect(() => readEnv({ SIM_BASE_TIME: "yesterday" })).toThrow(/SIM_BASE_TIME/);
    expect(readEnv({ SIM_BASE_TIME: "2025-01-02T03:04:05Z" }).baseTime).toBe(Date.UTC(2025, 0, 2, 3, 4, 5));
  });

  it("takes the ID tokens' issuer from SIM_ISSUER when it is a URL", () => {
    expect(readEnv({ SIM_ISSUER: "https://accounts.example.test" }).issuer).toBe(
      "https://accounts.example.test",
    );
    expect(() => readEnv({ SIM_ISSUER: "accounts" })).toThrow(/SIM_ISSUER/);
  });

  it("takes the push endpoint from SIM_PUSH_URL (an http(s) URL) and its audience from SIM_PUSH_AUDIENCE", () => {
    const env = readEnv({
      SIM_PUSH_URL: "http://127.0.0.1:3000/webhooks/gmail",
      SIM_PUSH_AUDIENCE: "inbox-sync",
    });
    expect(env).toMatchObject({
      pushEndpoint: "http://127.0.0.1:3000/webhooks/gmail",
      pushAudience: "inbox-sync",
    });
    expect(() => readEnv({ SIM_PUSH_URL: "127.0.0.1:3000/webhooks/gmail" })).toThrow(/SIM_PUSH_URL/);
  });
});

function run(env: Record<string, string>, onLine?: (line: string, kill: () => void) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(TSX, [MAIN], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      onLine?.(stdout, () => child.kill("SIGTERM"));
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run sim", () => {
  it("refuses bad configuration with one line naming the variable", async () => {
    const result = await run({ SIM_ACCOUNTS: "alice@example.com:lots" });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^gmail-sim: SIM_ACCOUNTS/);
  });

  it("starts, says where, answers and stops on SIGTERM", async () => {
    let answered = false;
    const result = await run(
      { SIM_PORT: "0", SIM_HOST: "127.0.0.1", SIM_ACCOUNTS: "dora@example.com:7" },
      (out, kill) => {
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (!url || answered) return;
        answered = true;
        fetch(`${url}/sim/accounts/dora@example.com`)
          .then((res) => res.json())
          .then((body) => {
            expect(body).toMatchObject({ email: "dora@example.com", messagesTotal: 7 });
          })
          .finally(kill);
      },
    );
    expect(answered).toBe(true);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
  });
});
