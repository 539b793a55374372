import { spawnSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import { spawnWeb } from "../test/processes";
import { ConfigError, DEMO_SWITCH_LINE, loadConfig } from "./config";

const base = { DATA_DIR: ".data/test" };

describe("configuration", () => {
  it("names the variable of a bad value", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ PORT: "abc" }, "PORT"],
      [{ PORT: "70000" }, "PORT"],
      [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
      [{ REDIS_URL: "http://x" }, "REDIS_URL"],
      [{ WORKER_CONCURRENCY: "0" }, "WORKER_CONCURRENCY"],
      [{ WORKER_NICE: "20" }, "WORKER_NICE"],
      [{ WORKER_NICE: "-5" }, "WORKER_NICE"],
      [{ DATABASE_POOL_MAX: "0" }, "DATABASE_POOL_MAX"],
      [{ DATABASE_POOL_MAX: "many" }, "DATABASE_POOL_MAX"],
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

  it("takes DATABASE_POOL_MAX as this process's pool size, and leaves it to the role when unset", () => {
    expect(loadConfig({ ...base, DATABASE_POOL_MAX: "12" }).databasePoolMax).toBe(12);
    expect(loadConfig(base).databasePoolMax).toBeUndefined();
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

  it("a web or worker process with a deployment's settings but no NODE_ENV exits 1 with one line naming NODE_ENV", () => {
    const { NODE_ENV: _mode, ...forgotten } = production;
    for (const [entry, name] of [
      ["server/main.ts", "web"],
      ["worker/main.ts", "worker"],
    ] as const) {
      const run = spawnSync(process.execPath, ["--import", "tsx", entry], {
        env: { PATH: process.env.PATH, ...forgotten },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr.trim().split("\n")).toEqual([
        `${name}: Invalid configuration: NODE_ENV is unset but PUBLIC_URL is an https:// URL: set NODE_ENV=production for a deployment (or NODE_ENV=development to run it locally)`,
      ]);
    }
  });
});

/** A production environment that passes every check; each test below spoils one thing. */
const production = {
  DATA_DIR: ".data/test",
  NODE_ENV: "production",
  DATABASE_URL: "postgres://db.internal/inbox_sync",
  PUBLIC_URL: "https://inbox.example.com",
  GOOGLE_CLIENT_ID: "123456789012-abcdefghijklmnop.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "GOCSPX-q8Yw1nR2vT5xK0pL3mZ7cB9d",
  SESSION_SECRET: "9f2c4e71b8a05d3e6c1f7a24b90e58d3c6a1f0e47b2d95c8",
  TOKEN_ENCRYPTION_KEY: "3b9e1f6a0c4d87e25f1a9c3b6d08e4f72a5c1e9b0d3f68a4c2e7b15d9f0a3c6e",
};

/** The one-line refusal of an environment: which variable, and what it says. */
function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain("\n");
    return err as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("production refuses the demo", () => {
  it("starts with real Google credentials, https endpoints and strong secrets", () => {
    const config = loadConfig(production);
    expect(config.env).toBe("production");
    expect(config.demo).toBe(false);
    expect(config.google.apiRoot).toBe("https://gmail.googleapis.com/");
  });

  it("refuses the simulator URL", () => {
    const err = refusal({ ...production, GMAIL_SIM_URL: "http://sim:4010" });
    expect(err.variable).toBe("GMAIL_SIM_URL");
    expect(err.message).toMatch(/must not be set when NODE_ENV=production \(INBOX_SYNC_DEMO=1 allows it/);
  });

  it("refuses plain-http Google endpoints and a plain-http PUBLIC_URL, naming each", () => {
    for (const name of [
      "GMAIL_API_ROOT",
      "GOOGLE_AUTH_URL",
      "GOOGLE_TOKEN_URL",
      "GOOGLE_REVOKE_URL",
      "PUBLIC_URL",
    ]) {
      const err = refusal({ ...production, [name]: "http://google.example.com/x" });
      expect(err.variable, name).toBe(name);
      expect(err.message).toContain("must be an https:// URL");
    }
  });

  it("refuses a missing client id, and the dev client's id or secret", () => {
    expect(
      refusal({ ...production, GOOGLE_CLIENT_ID: undefined, GOOGLE_CLIENT_SECRET: undefined }).variable,
    ).toBe("GOOGLE_CLIENT_ID");
    expect(refusal({ ...production, GOOGLE_CLIENT_ID: "inbox-sync-dev" }).variable).toBe("GOOGLE_CLIENT_ID");
    expect(refusal({ ...production, GOOGLE_CLIENT_SECRET: "inbox-sync-dev-secret" }).variable).toBe(
      "GOOGLE_CLIENT_SECRET",
    );
  });

  it("refuses weak secrets: zeros, one character, a repeated pattern, a counting run, placeholders, low entropy", () => {
    const weak: Array<[string, string, RegExp]> = [
      ["TOKEN_ENCRYPTION_KEY", "0".repeat(64), /all zeros/],
      ["TOKEN_ENCRYPTION_KEY", "f".repeat(64), /one byte repeated/],
      ["TOKEN_ENCRYPTION_KEY", "0123456789abcdef".repeat(4), /repeats a 8-byte pattern/],
      ["TOKEN_ENCRYPTION_KEY", Buffer.from("ab".repeat(16)).toString("base64"), /repeats a 2-byte pattern/],
      [
        "TOKEN_ENCRYPTION_KEY",
        Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString("hex"),
        /counting run/,
      ],
      ["TOKEN_ENCRYPTION_KEY", `${"00".repeat(28)}9f3c71e2`, /too little randomness/],
      [
        "TOKEN_ENCRYPTION_KEY",
        `${Buffer.from("Tr0ub4dor&3 horse battery staple").toString("base64").slice(0, 43)}=`,
        /printable text/,
      ],
      ["SESSION_SECRET", "x".repeat(40), /one character repeated/],
      ["SESSION_SECRET", "abc123".repeat(7), /repeats a 6-character pattern/],
      [
        "SESSION_SECRET",
        "demo-only-session-secret-change-me-0123456789",
        /placeholder \(it contains "changeme"\)/,
      ],
      ["SESSION_SECRET", "q7k2abcdefghijkw9m4x8z1r5t3v6y0u", /counting run/],
      ["SESSION_SECRET", `${"a".repeat(20)}${"b".repeat(20)}`, /too little randomness/],
      ["METRICS_TOKEN", "z".repeat(32), /one character repeated/],
    ];
    for (const [name, value, why] of weak) {
      const err = refusal({ ...production, [name]: value });
      expect(err.variable, value).toBe(name);
      expect(err.message, value).toMatch(why);
      expect(err.message).toMatch(/is too weak for production: .*openssl rand -hex 32/);
    }
  });

  it("accepts generated secrets of every allowed shape", async () => {
    const { randomBytes } = await import("node:crypto");
    for (let i = 0; i < 200; i++) {
      const config = loadConfig({
        ...production,
        SESSION_SECRET: randomBytes(16).toString("hex"),
        TOKEN_ENCRYPTION_KEY: i % 2 ? randomBytes(32).toString("hex") : randomBytes(32).toString("base64"),
        METRICS_TOKEN: randomBytes(24).toString("base64url"),
      });
      expect(config.tokenEncryptionKey).toHaveLength(32);
    }
  });

  it("takes an empty variable as unset, as the production compose file writes GMAIL_SIM_URL=''", () => {
    const config = loadConfig({ ...production, GMAIL_SIM_URL: "", GOOGLE_AUTH_URL: "", METRICS_TOKEN: "" });
    expect(config.google.authUrl).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(config.metricsToken).toBeUndefined();
    expect(refusal({ ...production, SESSION_SECRET: "" }).message).toMatch(/SESSION_SECRET is required/);
  });

  it("development still generates its own secrets and accepts anything", () => {
    const dev = loadConfig({ DATA_DIR: ".data/test", GMAIL_SIM_URL: "http://127.0.0.1:4010" });
    expect(dev.sessionSecret.length).toBeGreaterThanOrEqual(32);
    expect(dev.tokenEncryptionKey).toHaveLength(32);
    expect(dev.demo).toBe(false);
    const weak = loadConfig({ DATA_DIR: ".data/test", TOKEN_ENCRYPTION_KEY: "0".repeat(64) });
    expect(weak.tokenEncryptionKey.every((b) => b === 0)).toBe(true);
  });

  it("the demo switch allows the simulator, plain http and the dev client, and the config says so", () => {
    const demo = loadConfig({
      ...production,
      INBOX_SYNC_DEMO: "1",
      GOOGLE_CLIENT_ID: undefined,
      GOOGLE_CLIENT_SECRET: undefined,
      GMAIL_SIM_URL: "http://sim:4010",
      PUBLIC_URL: "http://localhost:3000",
    });
    expect(demo.demo).toBe(true);
    expect(demo.google.tokenUrl).toBe("http://sim:4010/token");
    expect(demo.google.clientId).toBe("inbox-sync-dev");
    // It never excuses weak secrets.
    expect(
      refusal({ ...production, INBOX_SYNC_DEMO: "1", TOKEN_ENCRYPTION_KEY: "0".repeat(64) }).variable,
    ).toBe("TOKEN_ENCRYPTION_KEY");
    expect(refusal({ ...production, INBOX_SYNC_DEMO: "yes" }).variable).toBe("INBOX_SYNC_DEMO");
  });

  it("a web process with a bad production config exits 1 with one stderr line and no stack", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ GMAIL_SIM_URL: "http://sim:4010" }, /^web: Invalid configuration: GMAIL_SIM_URL must not be set/],
      [
        { TOKEN_ENCRYPTION_KEY: "0".repeat(64) },
        /^web: Invalid configuration: TOKEN_ENCRYPTION_KEY is too weak/,
      ],
      [
        { GOOGLE_TOKEN_URL: "http://oauth2.googleapis.com/token" },
        /^web: Invalid configuration: GOOGLE_TOKEN_URL must be an https/,
      ],
    ];
    for (const [spoil, line] of cases) {
      const run = spawnSync(process.execPath, ["--import", "tsx", "server/main.ts"], {
        env: { PATH: process.env.PATH, ...production, ...spoil },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.status, run.stderr).toBe(1);
      const lines = run.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });

  it("a production web process with the demo switch starts and logs that the switch is on", async () => {
    const web = await spawnWeb({
      databaseUrl: inject("databaseUrl"),
      redisUrl: inject("redisUrl"),
      queuePrefix: `${inject("queuePrefix")}-demo`,
      simUrl: "http://127.0.0.1:1",
      env: {
        NODE_ENV: "production",
        INBOX_SYNC_DEMO: "1",
        LOG_LEVEL: "info",
        SESSION_SECRET: production.SESSION_SECRET,
        TOKEN_ENCRYPTION_KEY: production.TOKEN_ENCRYPTION_KEY,
      },
    });
    try {
      // The line is logged just after the port opens: read until it is there.
      for (let i = 0; i < 100 && !web.output().includes("demo switch on"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const line = web
        .output()
        .split("\n")
        .find((l) => l.includes("demo switch on"));
      expect(line && JSON.parse(line)).toMatchObject({ level: 40, msg: DEMO_SWITCH_LINE });
    } finally {
      await web.stop();
    }
  });
});
