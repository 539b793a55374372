import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

/** What a deployment's unit file sets when it forgets NODE_ENV: nothing says "production". */
const deployment = {
  DATA_DIR: ".data/test",
  DATABASE_URL: "postgres://db.internal/inbox_sync",
  PUBLIC_URL: "https://inbox.example.com",
  GOOGLE_CLIENT_ID: "123456789012-abcdefghijklmnop.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "GOCSPX-q8Yw1nR2vT5xK0pL3mZ7cB9d",
  SESSION_SECRET: "9f2c4e71b8a05d3e6c1f7a24b90e58d3c6a1f0e47b2d95c8",
  TOKEN_ENCRYPTION_KEY: "3b9e1f6a0c4d87e25f1a9c3b6d08e4f72a5c1e9b0d3f68a4c2e7b15d9f0a3c6e",
};

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

describe("configuration fails closed without NODE_ENV", () => {
  it("refuses a deployment's settings when NODE_ENV is unset, naming NODE_ENV and what gave it away", () => {
    const both = refusal(deployment);
    expect(both.variable).toBe("NODE_ENV");
    expect(both.message).toMatch(
      /^Invalid configuration: NODE_ENV is unset but PUBLIC_URL is an https:\/\/ URL: set NODE_ENV=production/,
    );

    const googleOnly = refusal({ ...deployment, PUBLIC_URL: "http://localhost:3000" });
    expect(googleOnly.variable).toBe("NODE_ENV");
    expect(googleOnly.message).toContain("GOOGLE_CLIENT_ID names a real Google OAuth client");

    const httpsOnly = refusal({ DATA_DIR: ".data/test", PUBLIC_URL: "https://inbox.example.com" });
    expect(httpsOnly.variable).toBe("NODE_ENV");
  });

  it("an empty NODE_ENV counts as unset, as compose and .env files write it", () => {
    expect(refusal({ ...deployment, NODE_ENV: "" }).variable).toBe("NODE_ENV");
  });

  it("starts once the mode is named: production runs its own checks, development is an explicit choice", () => {
    expect(loadConfig({ ...deployment, NODE_ENV: "production" }).env).toBe("production");
    expect(loadConfig({ ...deployment, NODE_ENV: "development" }).env).toBe("development");
    // The production checks still bite once NODE_ENV is named.
    expect(
      refusal({ ...deployment, NODE_ENV: "production", GMAIL_SIM_URL: "http://sim:4010" }).variable,
    ).toBe("GMAIL_SIM_URL");
  });

  it("a local run with nothing of a deployment's still starts without NODE_ENV", () => {
    expect(loadConfig({ DATA_DIR: ".data/test" }).env).toBe("development");
    const local = loadConfig({
      DATA_DIR: ".data/test",
      PUBLIC_URL: "http://localhost:3000",
      GMAIL_SIM_URL: "http://127.0.0.1:4010",
      GOOGLE_CLIENT_ID: "inbox-sync-dev",
      GOOGLE_CLIENT_SECRET: "inbox-sync-dev-secret",
    });
    expect(local.google.clientId).toBe("inbox-sync-dev");
  });
});

describe("HOST default", () => {
  it("listens on loopback only outside production, on every address in production", () => {
    expect(loadConfig({ DATA_DIR: ".data/test" }).host).toBe("127.0.0.1");
    expect(loadConfig({ DATA_DIR: ".data/test", NODE_ENV: "test" }).host).toBe("127.0.0.1");
    expect(loadConfig({ ...deployment, NODE_ENV: "production" }).host).toBe("0.0.0.0");
  });

  it("takes HOST as given in any mode (the compose demo sets 0.0.0.0), and an empty one as unset", () => {
    expect(loadConfig({ DATA_DIR: ".data/test", HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    expect(loadConfig({ ...deployment, NODE_ENV: "production", HOST: "10.0.0.5" }).host).toBe("10.0.0.5");
    expect(loadConfig({ DATA_DIR: ".data/test", HOST: "" }).host).toBe("127.0.0.1");
  });
});
