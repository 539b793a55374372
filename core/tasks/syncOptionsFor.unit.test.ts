import { OAuth2Client } from "google-auth-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../config";
import { BatchRefusals } from "../gmail/batchFallback";
import { createGmailClient } from "../gmail/googleClients";
import { syncOptionsFor } from "./syncOptionsFor";

const BASE = {
  NODE_ENV: "test",
  SESSION_SECRET: "s".repeat(40),
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
};
const load = (env: Record<string, string>) => loadConfig({ ...BASE, ...env });
/** A real Gmail client, never called: the batch transport is made from its credentials. */
const client = () => createGmailClient(new OAuth2Client(), "http://127.0.0.1:9/");

afterEach(() => vi.unstubAllGlobals());

describe("syncOptionsFor (the one place a deployment's sync settings are made)", () => {
  it("fetches through Gmail's batch endpoint at GMAIL_BATCH_SIZE messages a request", () => {
    const options = syncOptionsFor(load({ GMAIL_BATCH_SIZE: "20" }));
    expect(options.messages?.(client()).maxIds).toBe(20);
  });

  it("fetches one messages.get a message when GMAIL_BATCH_SIZE is 1", () => {
    expect(syncOptionsFor(load({ GMAIL_BATCH_SIZE: "1" })).messages).toBeUndefined();
  });

  it("sizes the lanes by the per-user quota and the messages.get cost in force", () => {
    expect(syncOptionsFor(load({ GMAIL_USER_UNITS_PER_SECOND: "500" })).userMessagesPerSecond).toBe(100);
    // The 2026 profile (the default): 6,000 units a minute, 5 a get.
    expect(syncOptionsFor(load({})).userMessagesPerSecond).toBe(20);
    expect(syncOptionsFor(load({ GMAIL_QUOTA_PROFILE: "legacy" })).userMessagesPerSecond).toBe(50);
    expect(syncOptionsFor(load({ GMAIL_METHOD_COSTS: "messages.get:20" })).userMessagesPerSecond).toBe(5);
  });

  it("opens lanes without a quota bound when the per-user limit is off", () => {
    expect(syncOptionsFor(load({ GMAIL_USER_UNITS_PER_MINUTE: "0" })).userMessagesPerSecond).toBeUndefined();
  });

  it("a batch endpoint answering 405 is warned of once per API root, counted per refusal, and its messages fetched singly", async () => {
    const asked: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      asked.push(url);
      if (url.includes("/batch/")) return new Response("<html>gone</html>", { status: 405 });
      const id = new URL(url).pathname.split("/").pop();
      return new Response(JSON.stringify({ id }), { headers: { "content-type": "application/json" } });
    });
    const warned: unknown[] = [];
    const counted: number[] = [];
    const options = syncOptionsFor(load({ GMAIL_BATCH_SIZE: "20" }), {
      logger: { warn: (...args: unknown[]) => warned.push(args) } as never,
      count: (status) => counted.push(status),
      refusals: new BatchRefusals(),
    });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: "at", expiry_date: Date.now() + 3_600_000 });
    const gmail = createGmailClient(auth, "http://127.0.0.1:9/");
    const first = options.messages!(gmail);
    expect(await first.fetch(["a", "b"])).toEqual([
      { ok: true, message: { id: "a" } },
      { ok: true, message: { id: "b" } },
    ]);
    const later = options.messages!(gmail);
    expect(later.maxIds).toBe(1);
    expect(await later.fetch(["c"])).toEqual([{ ok: true, message: { id: "c" } }]);
    expect(asked.filter((u) => u.includes("/batch/"))).toHaveLength(1);
    expect(counted).toEqual([405]);
    expect(warned).toHaveLength(1);
  });
});
