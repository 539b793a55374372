import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../core/config";
import { adminRule } from "./admin";

const dev = { DATA_DIR: ".data/test", SESSION_SECRET: "s".repeat(40), TOKEN_ENCRYPTION_KEY: "ab".repeat(32) };

describe("who administers the queue dashboard", () => {
  it("ADMIN_SUBS is read as a list of Google account ids; anything else stops start-up naming it", () => {
    expect(loadConfig({ ...dev, ADMIN_SUBS: " 1098765, 1234 ,," }).adminSubs).toEqual(["1098765", "1234"]);
    expect(loadConfig(dev).adminSubs).toEqual([]);
    expect(() => loadConfig({ ...dev, ADMIN_SUBS: "1098765;DROP" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, ADMIN_SUBS: "1098765;DROP" })).toThrow(/ADMIN_SUBS/);
  });

  it("by sub when ADMIN_SUBS is set, whatever the address; by address only without it", () => {
    const bySub = adminRule({ adminSubs: ["42"], adminEmails: ["boss@example.com"] });
    expect(bySub({ email: "anyone@example.com", googleSub: "42" })).toBe(true);
    expect(bySub({ email: "boss@example.com", googleSub: "43" })).toBe(false);
    expect(bySub({ email: "boss@example.com", googleSub: null })).toBe(false);
    const byAddress = adminRule({ adminSubs: [], adminEmails: ["boss@example.com"] });
    expect(byAddress({ email: "Boss@Example.com", googleSub: "43" })).toBe(true);
    expect(byAddress({ email: "staff@example.com", googleSub: "42" })).toBe(false);
  });
});
