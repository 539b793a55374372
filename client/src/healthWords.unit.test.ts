import { describe, expect, it } from "vitest";
import type { AccountHealthView } from "../../core/contract";
import { ageWords, healthFacts, healthSummary } from "./healthWords";

const NOW = Date.parse("2026-12-07T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function view(over: Partial<AccountHealthView> = {}): AccountHealthView {
  return {
    accountId: "acc",
    email: "alice@example.com",
    state: "connected",
    sync: {
      lastAt: ago(120_000),
      kind: "incremental",
      cursorAgeSeconds: 120,
      lastFull: { at: ago(3 * 86_400_000), reason: "history_expired" },
    },
    push: {
      state: "watching",
      watchedUntil: new Date(NOW + 5 * 86_400_000).toISOString(),
      lastPushAt: ago(60_000),
      failedRenewals: 0,
      failingSince: null,
      lastError: null,
    },
    messages: { here: 12_400, gmailTotal: 12_410, gmailTotalAt: ago(3 * 86_400_000) },
    check: null,
    quota: null,
    attention: [],
    ...over,
  };
}

describe("health words", () => {
  it("says all is well when nothing needs a person, and counts what does", () => {
    expect(healthSummary(view())).toBe("All is well: nothing needs you.");
    const one = { code: "watch_lapsed" as const, message: "m", action: "a" };
    expect(healthSummary(view({ attention: [one] }))).toBe("One thing needs you:");
    expect(healthSummary(view({ attention: [one, one] }))).toBe("2 things need you:");
  });

  it("names why the last full sync was full, the push state and both message counts", () => {
    const facts = Object.fromEntries(healthFacts(view(), NOW));
    expect(facts["Last full sync"]).toContain("because Gmail no longer had the changes since the last sync");
    expect(facts["Gmail push"]).toMatch(/^Active, until /);
    expect(facts.Messages).toBe("12,400 here; Gmail counted 12,410 at the last full sync");
    expect(facts["Changes replayed up to"]).toBe("2 min ago");
    expect(facts["Push renewals failing"]).toBeUndefined();
  });

  it("shows failing renewals with Gmail's words, and no last push when push is off", () => {
    const failing = Object.fromEntries(
      healthFacts(
        view({
          push: {
            state: "lapsed",
            watchedUntil: ago(1000),
            lastPushAt: null,
            failedRenewals: 3,
            failingSince: ago(7_200_000),
            lastError: "User not authorized to perform this action.",
          },
        }),
        NOW,
      ),
    );
    expect(failing["Gmail push"]).toBe("Not active: new mail arrives only when a sync runs");
    expect(failing["Push renewals failing"]).toMatch(/^3 in a row since .*: User not authorized/);
    const off = Object.fromEntries(
      healthFacts(view({ push: { ...view().push, state: "off", watchedUntil: null } }), NOW),
    );
    expect(off["Last push"]).toBeUndefined();
  });

  it("shows the day's quota as a share of the project's budget", () => {
    const facts = Object.fromEntries(
      healthFacts(
        view({
          quota: {
            projectUnitsToday: 40_000_000,
            projectUnitsPerDay: 80_000_000,
            firstSyncUnitsToday: 10,
            resetsAt: new Date(NOW + 8 * 3_600_000).toISOString(),
          },
        }),
        NOW,
      ),
    );
    expect(facts["Gmail quota today"]).toMatch(/^50% of the project's daily budget spent; it resets /);
  });

  it("writes ages compactly", () => {
    expect([ageWords(45), ageWords(600), ageWords(7200), ageWords(3 * 86_400)]).toEqual([
      "45 s",
      "10 min",
      "2 h",
      "3 d",
    ]);
  });
});
