import { describe, expect, it } from "vitest";
import { GmailUnavailableError, NotFoundError, ReauthRequiredError } from "../errors";
import type { AccountHealthRow } from "../repositories/accountHealth.repository";
import { type AccountHealthDeps, AccountHealthService, PushDisabledError } from "./AccountHealthService";

const NOW = Date.parse("2026-12-07T12:00:00Z");

const ALICE: AccountHealthRow = {
  id: "acc-a",
  userId: "alice",
  email: "alice@example.com",
  state: "connected",
  lastSyncAt: null,
  messages: 0,
  historyId: null,
  watchExpiration: null,
  lastPushAt: null,
  watchFailures: 0,
  watchFailingSince: null,
  watchError: null,
  lastSyncKind: null,
  lastFullSyncAt: null,
  lastFullSyncReason: null,
  gmailTotal: null,
  gmailTotalAt: null,
  lastCheckAt: null,
  lastCheck: null,
};

function service(over: Partial<AccountHealthDeps> = {}, row: AccountHealthRow = ALICE) {
  const calls = { watched: [] as string[], reauth: [] as string[], started: [] as unknown[] };
  const deps: AccountHealthDeps = {
    repo: {
      accountsOf: async () => [],
      healthOf: async (userId, accountId) => (userId === row.userId && accountId === row.id ? row : null),
    },
    quota: null,
    watch: {
      enabled: true,
      start: async (userId) => {
        calls.watched.push(userId);
        return { expiration: new Date(NOW + 7 * 86_400_000) };
      },
    },
    markReauthRequired: async (userId) => {
      calls.reauth.push(userId);
    },
    startTask: async (userId, request) => {
      calls.started.push({ userId, request });
      return { task: { id: "task-1", state: "queued" }, joined: false, options: request.options };
    },
    now: () => NOW,
    ...over,
  };
  return { svc: new AccountHealthService(deps), calls };
}

describe("AccountHealthService", () => {
  it("answers not found for an account of someone else, exactly as for none", async () => {
    const { svc, calls } = service();
    await expect(svc.health("bob", "acc-a")).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.renewWatch("bob", "acc-a")).rejects.toBeInstanceOf(NotFoundError);
    expect(calls.watched).toEqual([]);
  });

  it("a completeness check is the owner's task of the mirror's own scope, listed again, joined only if it is a check too", async () => {
    const { svc, calls } = service();
    await expect(svc.startCheck("bob", "acc-a")).rejects.toBeInstanceOf(NotFoundError);
    const started = await svc.startCheck("alice", "acc-a");
    expect(started.options).toEqual({ current: true, check: true });
    expect(calls.started).toEqual([
      { userId: "alice", request: { options: { current: true, check: true }, strict: true } },
    ]);
    const gone = service({}, { ...ALICE, state: "reauth_required" });
    await expect(gone.svc.startCheck("alice", "acc-a")).rejects.toBeInstanceOf(ReauthRequiredError);
  });

  it("renews through the owner's grant", async () => {
    const { svc, calls } = service();
    await svc.renewWatch("alice", "acc-a");
    expect(calls.watched).toEqual(["alice"]);
  });

  it("refuses to renew without push (409 push_disabled), and a disconnected account asks for sign-in", async () => {
    const off = service({ watch: { enabled: false, start: async () => null } });
    await expect(off.svc.renewWatch("alice", "acc-a")).rejects.toBeInstanceOf(PushDisabledError);
    expect(new PushDisabledError().status).toBe(409);
    const gone = service({}, { ...ALICE, state: "disconnected" });
    await expect(gone.svc.renewWatch("alice", "acc-a")).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(gone.calls.watched).toEqual([]);
  });

  it("a grant Gmail refuses marks the account for re-consent; any other failure answers as Gmail's", async () => {
    const refused = service({
      watch: {
        enabled: true,
        start: async () => {
          throw new ReauthRequiredError();
        },
      },
    });
    await expect(refused.svc.renewWatch("alice", "acc-a")).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(refused.calls.reauth).toEqual(["alice"]);
    const failing = service({
      watch: {
        enabled: true,
        start: async () => {
          throw new Error("User not authorized to perform this action.");
        },
      },
    });
    const err = await failing.svc.renewWatch("alice", "acc-a").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GmailUnavailableError);
    expect((err as Error).message).toContain("User not authorized");
    expect(failing.calls.reauth).toEqual([]);
  });
});
