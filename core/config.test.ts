import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

const base = { DATA_DIR: ".data/test" };

describe("configuration", () => {
  it("names the variable of a bad value", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ PORT: "abc" }, "PORT"],
      [{ PORT: "70000" }, "PORT"],
      [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
      [{ REDIS_URL: "http://x" }, "REDIS_URL"],
      [{ WORKER_CONCURRENCY: "0" }, "WORKER_CONCURRENCY"],
      [{ TOKEN_ENCRYPTION_KEY: "short" }, "TOKEN_ENCRYPTION_KEY"],
      [{ GMAIL_SIM_URL: "not a url" }, "GMAIL_SIM_URL"],
      [{ GOOGLE_CLIENT_ID: "id-only" }, "GOOGLE_CLIENT_SECRET"],
      [{ NODE_ENV: "production" }, "DATABASE_URL"],
      [{ NODE_ENV: "production", DATABASE_URL: "postgres://x/y" }, "SESSION_SECRET"],
    ];
    for (const [env, variable] of cases) {
      let caught: unknown;
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).variable).toBe(variable);
      expect((caught as Error).message).not.toContain("\n");
    }
  });

  it("points every Google endpoint at GMAIL_SIM_URL, and lets each one be overridden", () => {
    const sim = loadConfig({ ...base, GMAIL_SIM_URL: "http://127.0.0.1:4010/" });
    expect(sim.google).toMatchObject({
      apiRoot: "http://127.0.0.1:4010/",
      authUrl: "http://127.0.0.1:4010/o/oauth2/v2/auth",
      tokenUrl: "http://127.0.0.1:4010/token",
      revokeUrl: "http://127.0.0.1:4010/revoke",
    });
    const mixed = loadConfig({
      ...base,
      GMAIL_SIM_URL: "http://sim:4010",
      GOOGLE_AUTH_URL: "http://localhost:4010/auth",
    });
    expect(mixed.google.authUrl).toBe("http://localhost:4010/auth");
    expect(mixed.google.tokenUrl).toBe("http://sim:4010/token");
    const google = loadConfig(base);
    expect(google.google.apiRoot).toBe("https://gmail.googleapis.com/");
    expect(google.google.redirectUri).toBe("http://localhost:3000/auth/google/callback");
  });

  it("stops a process with one line, not a stack trace", () => {
    for (const entry of ["server/main.ts", "worker/main.ts", "scripts/migrate.ts"]) {
      const run = spawnSync(process.execPath, ["--import", "tsx", entry], {
        env: { PATH: process.env.PATH, PORT: "not-a-port", DATA_DIR: ".data/test" },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.status, entry).toBe(1);
      const lines = run.stderr.trim().split("\n");
      expect(lines, entry).toHaveLength(1);
      expect(lines[0]).toMatch(/PORT/);
    }
    const missing = spawnSync(process.execPath, ["--import", "tsx", "worker/main.ts"], {
      env: { PATH: process.env.PATH, DATA_DIR: ".data/test" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^worker: Invalid configuration: DATABASE_URL is required/);
  });
});
