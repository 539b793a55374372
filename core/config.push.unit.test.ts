import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

/** Gmail push, its debounce and the schedule (GMAIL_PUSH_*, SYNC_DEBOUNCE_MS, SYNC_SCHEDULE_*). */
const dev = {
  DATA_DIR: ".data/test",
  NODE_ENV: "development",
  SESSION_SECRET: "s".repeat(40),
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
};

/** A production environment that passes every check, push on. */
const production = {
  DATA_DIR: ".data/test",
  NODE_ENV: "production",
  DATABASE_URL: "postgres://db.internal/inbox_sync",
  PUBLIC_URL: "https://inbox.example.com",
  GOOGLE_CLIENT_ID: "123456789012-abcdefghijklmnop.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "GOCSPX-q8Yw1nR2vT5xK0pL3mZ7cB9d",
  SESSION_SECRET: "9f2c4e71b8a05d3e6c1f7a24b90e58d3c6a1f0e47b2d95c8",
  TOKEN_ENCRYPTION_KEY: "3b9e1f6a0c4d87e25f1a9c3b6d08e4f72a5c1e9b0d3f68a4c2e7b15d9f0a3c6e",
  GMAIL_PUSH_TOPIC: "projects/inbox-prod/topics/gmail-push",
  GMAIL_PUSH_SERVICE_ACCOUNT: "gmail-push@inbox-prod.iam.gserviceaccount.com",
};

function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("configuration: Gmail push and the schedule", () => {
  it("is off by default, with the schedule every 15 minutes and Google's keys", () => {
    const config = loadConfig(dev);
    expect(config.gmailPush).toMatchObject({
      topic: null,
      audience: "http://localhost:3000/webhooks/gmail",
      serviceAccount: null,
      jwksUrl: "https://www.googleapis.com/oauth2/v3/certs",
      issuers: ["https://accounts.google.com", "accounts.google.com"],
      labelIds: [],
      labelFilterBehavior: "include",
    });
    expect(config.liveSync).toEqual({
      debounceMs: 2_000,
      scheduleIntervalSeconds: 900,
      activeDays: 14,
      checkEveryDays: 7,
    });
    expect(config.rateLimits.gmailPush).toEqual({ points: 1200, duration: 60 });
  });

  it("takes the audience from PUBLIC_URL, the keys from GMAIL_SIM_URL, and each setting as given", () => {
    const config = loadConfig({
      ...dev,
      PUBLIC_URL: "https://inbox.example.com/",
      GMAIL_SIM_URL: "http://127.0.0.1:4010",
      GMAIL_PUSH_TOPIC: "projects/inbox-sync/topics/gmail",
      GMAIL_PUSH_SERVICE_ACCOUNT: "Push@Inbox-Sync.iam.gserviceaccount.com",
      GMAIL_PUSH_LABEL_IDS: "INBOX, Label_1",
      GMAIL_PUSH_LABEL_FILTER: "exclude",
      SYNC_DEBOUNCE_MS: "0",
      SYNC_SCHEDULE_INTERVAL_SECONDS: "0",
    });
    expect(config.gmailPush).toMatchObject({
      topic: "projects/inbox-sync/topics/gmail",
      audience: "https://inbox.example.com/webhooks/gmail",
      serviceAccount: "push@inbox-sync.iam.gserviceaccount.com",
      jwksUrl: "http://127.0.0.1:4010/oauth2/v3/certs",
      labelIds: ["INBOX", "Label_1"],
      labelFilterBehavior: "exclude",
    });
    expect(config.liveSync).toMatchObject({ debounceMs: 0, scheduleIntervalSeconds: 0 });
    expect(loadConfig({ ...dev, GMAIL_PUSH_AUDIENCE: "inbox-sync-push" }).gmailPush.audience).toBe(
      "inbox-sync-push",
    );
  });

  it("names the variable of a bad value", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ GMAIL_PUSH_TOPIC: "gmail-push" }, "GMAIL_PUSH_TOPIC"],
      [{ GMAIL_PUSH_TOPIC: "projects/x/topics/gmail" }, "GMAIL_PUSH_TOPIC"],
      [{ GMAIL_PUSH_SERVICE_ACCOUNT: "not an address" }, "GMAIL_PUSH_SERVICE_ACCOUNT"],
      [{ GMAIL_PUSH_JWKS_URL: "certs" }, "GMAIL_PUSH_JWKS_URL"],
      [{ GMAIL_PUSH_LABEL_FILTER: "only" }, "GMAIL_PUSH_LABEL_FILTER"],
      [{ SYNC_DEBOUNCE_MS: "-1" }, "SYNC_DEBOUNCE_MS"],
      [{ SYNC_SCHEDULE_INTERVAL_SECONDS: "ten" }, "SYNC_SCHEDULE_INTERVAL_SECONDS"],
      [{ SYNC_SCHEDULE_ACTIVE_DAYS: "0" }, "SYNC_SCHEDULE_ACTIVE_DAYS"],
      [{ RATE_LIMIT_GMAIL_PUSH: "lots" }, "RATE_LIMIT_GMAIL_PUSH"],
    ];
    for (const [env, variable] of cases) {
      expect(refusal({ ...dev, ...env }).variable).toBe(variable);
    }
  });

  it("production with push on starts with a named service account and https keys", () => {
    expect(loadConfig(production).gmailPush.topic).toBe("projects/inbox-prod/topics/gmail-push");
  });

  it("production with push on refuses to take pushes from any Google account", () => {
    const err = refusal({ ...production, GMAIL_PUSH_SERVICE_ACCOUNT: undefined });
    expect(err.variable).toBe("GMAIL_PUSH_SERVICE_ACCOUNT");
    // The demo switch does not lift it: it is about who may trigger syncs, not about the simulator.
    expect(
      refusal({ ...production, GMAIL_PUSH_SERVICE_ACCOUNT: undefined, INBOX_SYNC_DEMO: "1" }).variable,
    ).toBe("GMAIL_PUSH_SERVICE_ACCOUNT");
    // Without push there is nothing to name.
    expect(
      loadConfig({ ...production, GMAIL_PUSH_TOPIC: undefined, GMAIL_PUSH_SERVICE_ACCOUNT: undefined })
        .gmailPush.topic,
    ).toBeNull();
  });

  it("production refuses plain-http signing keys, unless the demo switch is on", () => {
    const plain = { ...production, GMAIL_PUSH_JWKS_URL: "http://keys.example.com/certs" };
    expect(refusal(plain).variable).toBe("GMAIL_PUSH_JWKS_URL");
    expect(loadConfig({ ...plain, INBOX_SYNC_DEMO: "1" }).gmailPush.jwksUrl).toBe(
      "http://keys.example.com/certs",
    );
  });
});
