import { OAuth2Client } from "google-auth-library";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config";
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

describe("syncOptionsFor (the one place a deployment's sync settings are made)", () => {
  it("fetches through Gmail's batch endpoint at GMAIL_BATCH_SIZE messages a request", () => {
    const options = syncOptionsFor(load({ GMAIL_BATCH_SIZE: "20" }));
    expect(options.messages?.(client()).maxIds).toBe(20);
  });

  it("fetches one messages.get a message when GMAIL_BATCH_SIZE is 1", () => {
    expect(syncOptionsFor(load({ GMAIL_BATCH_SIZE: "1" })).messages).toBeUndefined();
  });

  it("sizes the lanes by the per-user quota: 5 units a messages.get", () => {
    expect(syncOptionsFor(load({ GMAIL_USER_UNITS_PER_SECOND: "500" })).userMessagesPerSecond).toBe(100);
    expect(syncOptionsFor(load({})).userMessagesPerSecond).toBe(50);
  });
});
