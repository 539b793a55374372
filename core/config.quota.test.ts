import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";
import { MAX_CALL_COST } from "./sync/QuotaGate";

const base = { DATA_DIR: ".data/test" };
const QUOTA_VARIABLES = ["GMAIL_USER_UNITS_PER_SECOND", "GMAIL_PROJECT_UNITS_PER_SECOND"] as const;

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("Gmail quota settings", () => {
  it("one messages.get costs 5 units: the least rate that can ever pay for a call", () => {
    expect(MAX_CALL_COST).toBe(5);
  });

  it("refuses a rate below one call's cost, naming the variable, in one line", () => {
    for (const variable of QUOTA_VARIABLES) {
      for (const value of ["3", "1", "4.9"]) {
        const error = refusal({ [variable]: value });
        expect(error.variable, `${variable}=${value}`).toBe(variable);
        expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
        expect(error.message).toContain("at least 5");
        expect(error.message).not.toContain("\n");
      }
    }
  });

  it("refuses a negative rate", () => {
    for (const variable of QUOTA_VARIABLES) expect(refusal({ [variable]: "-5" }).variable).toBe(variable);
  });

  it("accepts 0 (no limit) and exactly one call's cost", () => {
    const off = loadConfig({
      ...base,
      GMAIL_USER_UNITS_PER_SECOND: "0",
      GMAIL_PROJECT_UNITS_PER_SECOND: "0",
    });
    expect(off.gmailQuota).toEqual({ userUnitsPerSecond: 0, projectUnitsPerSecond: 0 });
    const least = loadConfig({
      ...base,
      GMAIL_USER_UNITS_PER_SECOND: "5",
      GMAIL_PROJECT_UNITS_PER_SECOND: "5",
    });
    expect(least.gmailQuota).toEqual({ userUnitsPerSecond: 5, projectUnitsPerSecond: 5 });
  });

  it("unset, takes the 2026 profile's limits: 6,000 units per user per minute (100 a second), 1,200,000 per project per minute (20,000 a second)", () => {
    expect(loadConfig(base).gmailQuota).toEqual({ userUnitsPerSecond: 100, projectUnitsPerSecond: 20_000 });
    expect(loadConfig(base).gmailQuotaTable).toMatchObject({
      profile: "2026",
      userUnitsPerMinute: 6_000,
      projectUnitsPerMinute: 1_200_000,
      projectUnitsPerDay: 80_000_000,
    });
  });

  it("GMAIL_QUOTA_PROFILE=legacy gives 250 units per user per second, as Google's older projects have", () => {
    expect(loadConfig({ ...base, GMAIL_QUOTA_PROFILE: "legacy" }).gmailQuota).toEqual({
      userUnitsPerSecond: 250,
      projectUnitsPerSecond: 20_000,
    });
  });

  it("the per-second settings still set the limits (× 60 in the table) over the profile", () => {
    const config = loadConfig({
      ...base,
      GMAIL_USER_UNITS_PER_SECOND: "80",
      GMAIL_PROJECT_UNITS_PER_SECOND: "240",
    });
    expect(config.gmailQuota).toEqual({ userUnitsPerSecond: 80, projectUnitsPerSecond: 240 });
    expect(config.gmailQuotaTable).toMatchObject({
      userUnitsPerMinute: 4_800,
      projectUnitsPerMinute: 14_400,
    });
  });

  it("refuses a bad quota profile, cost list or per-minute limit in one line naming the variable", () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ GMAIL_QUOTA_PROFILE: "2027" }, "GMAIL_QUOTA_PROFILE", /must be legacy or 2026/],
      [{ GMAIL_METHOD_COSTS: "messages.send:100" }, "GMAIL_METHOD_COSTS", /unknown method "messages.send"/],
      [{ GMAIL_METHOD_COSTS: "messages.get=20" }, "GMAIL_METHOD_COSTS", /not method:units/],
      [{ GMAIL_USER_UNITS_PER_MINUTE: "lots" }, "GMAIL_USER_UNITS_PER_MINUTE", /whole number/],
      [{ GMAIL_PROJECT_UNITS_PER_DAY: "50" }, "GMAIL_PROJECT_UNITS_PER_DAY", /at least 100/],
      [
        { GMAIL_USER_UNITS_PER_MINUTE: "6000", GMAIL_USER_UNITS_PER_SECOND: "100" },
        "GMAIL_USER_UNITS_PER_MINUTE",
        /set only one/,
      ],
    ];
    for (const [env, variable, message] of cases) {
      const error = refusal(env);
      expect(error.variable, JSON.stringify(env)).toBe(variable);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain("\n");
    }
  });

  it("a web process started with GMAIL_USER_UNITS_PER_SECOND=3 exits 1, printing one line naming the variable and no stack", () => {
    const variable = "GMAIL_USER_UNITS_PER_SECOND";
    const run = spawnSync(process.execPath, ["--import", "tsx", "server/main.ts"], {
      // Config is checked before anything connects: no database or Redis is needed to be refused.
      env: { PATH: process.env.PATH, ...base, [variable]: "3" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toEqual([
      `web: Invalid configuration: ${variable} must be 0 (no limit) or at least 5, the cost of one messages.get`,
    ]);
    expect(run.stderr).not.toMatch(/\bat .*\.[tj]s:\d+/);
  });
});
