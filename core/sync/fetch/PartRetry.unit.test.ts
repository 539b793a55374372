import { describe, expect, it } from "vitest";
import { ReauthRequiredError } from "../../errors";
import type { FetchOutcome, MessageFetcher } from "../MessageFetcher";
import type { GmailMethod } from "../QuotaGate";
import { SyncCalls } from "../SyncCalls";
import { gmailMessage } from "../testMail";
import type { FetchItem } from "./FetchItem";
import { PartRetry } from "./PartRetry";

/** Backoff of 0 ms: the retries' order is under test, not their delay. */
const NO_DELAY = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };

const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

/** A transport answering per id and attempt (0 = first) as `answer` says, a message by default. */
function fakeFetcher(answer: (id: string, attempt: number) => FetchOutcome | undefined = () => undefined) {
  const requests: string[][] = [];
  const attempts = new Map<string, number>();
  const fetcher: MessageFetcher = {
    maxIds: 10,
    async fetch(ids) {
      requests.push([...ids]);
      return ids.map((id) => {
        const attempt = attempts.get(id) ?? 0;
        attempts.set(id, attempt + 1);
        return answer(id, attempt) ?? { ok: true, message: gmailMessage(id) };
      });
    },
  };
  return { fetcher, requests };
}

/** A quota gate that records every take. */
function recordingCalls() {
  const takes: Array<{ method: GmailMethod; times: number | undefined }> = [];
  const calls = new SyncCalls({
    retry: NO_DELAY,
    quota: { take: async (method, _signal, _onWait, times) => void takes.push({ method, times }) },
  });
  return { calls, takes };
}

const items = (...ids: string[]): FetchItem[] => ids.map((id) => ({ id }));

/** What `keep` was told, by id: the message's id, or null for gone. */
function kept() {
  const seen = new Map<string, string | null>();
  return {
    seen,
    keep: (item: FetchItem, m: { id?: string | null } | null) => seen.set(item.id, m?.id ?? null),
  };
}

describe("PartRetry", () => {
  it("charges a request's parts to the quota in one take, and times it on the injected clock", async () => {
    const { fetcher } = fakeFetcher();
    const { calls, takes } = recordingCalls();
    let t = 0;
    const observed: Array<[number, number]> = [];
    const parts = new PartRetry(
      fetcher,
      calls,
      (ms, n) => observed.push([ms, n]),
      () => (t += 40),
    );
    const { seen, keep } = kept();
    await parts.fetch(items("a", "b", "c"), keep);
    expect(takes).toEqual([{ method: "messages.get", times: 3 }]);
    expect(observed).toEqual([[40, 3]]);
    expect([...seen]).toEqual([
      ["a", "a"],
      ["b", "b"],
      ["c", "c"],
    ]);
  });

  it("retries a failed part alone, and keeps a part gone from Gmail as null", async () => {
    const { fetcher, requests } = fakeFetcher((id, attempt) =>
      id === "b" && attempt === 0
        ? { ok: false, error: httpError(503) }
        : id === "c"
          ? { ok: false, error: httpError(404) }
          : undefined,
    );
    const parts = new PartRetry(fetcher, recordingCalls().calls, () => {});
    const { seen, keep } = kept();
    await parts.fetch(items("a", "b", "c"), keep);
    expect(requests).toEqual([["a", "b", "c"], ["b"]]);
    expect(seen.get("b")).toBe("b");
    expect(seen.get("c")).toBeNull();
  });

  it("a part that keeps failing fails the request once its retries are spent", async () => {
    const { fetcher, requests } = fakeFetcher((id) =>
      id === "b" ? { ok: false, error: httpError(503) } : undefined,
    );
    const parts = new PartRetry(fetcher, recordingCalls().calls, () => {});
    const { seen, keep } = kept();
    await expect(parts.fetch(items("a", "b"), keep)).rejects.toThrow(/kept failing after 3 attempts/);
    expect(requests).toEqual([["a", "b"], ["b"], ["b"]]);
    expect(seen.has("b")).toBe(false);
  });

  it("a part refused for the project's day waits for Google's reset instead of failing the sync", async () => {
    const daily = Object.assign(new Error("403 Daily Limit Exceeded"), {
      status: 403,
      response: { data: { error: { code: 403, errors: [{ reason: "dailyLimitExceeded" }] } } },
    });
    const { fetcher } = fakeFetcher((id) => (id === "b" ? { ok: false, error: daily } : undefined));
    const stop = new AbortController();
    const waits: Array<{ until: number; limitedBy?: string }> = [];
    const calls = new SyncCalls({
      retry: NO_DELAY,
      signal: stop.signal,
      quota: { take: async () => {} },
      onWait: (wait) => {
        waits.push(wait);
        // The wait runs until midnight Pacific Time: the test stops there, as a deploy would.
        stop.abort(new Error("stopped while waiting for the reset"));
      },
    });
    const { seen, keep } = kept();
    const before = Date.now();
    // Stopped in the wait (an AbortError), not failed with Google's 403.
    await expect(new PartRetry(fetcher, calls, () => {}).fetch(items("a", "b"), keep)).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(seen.get("a")).toBe("a");
    expect(waits).toHaveLength(1);
    expect(waits[0]!.limitedBy).toBe("daily_budget");
    expect(waits[0]!.until).toBeGreaterThan(before);
    expect(waits[0]!.until - before).toBeLessThanOrEqual(25 * 3_600_000);
  });

  it("a revoked grant in any part asks for a new consent", async () => {
    const { fetcher } = fakeFetcher((id) => (id === "b" ? { ok: false, error: httpError(401) } : undefined));
    const parts = new PartRetry(fetcher, recordingCalls().calls, () => {});
    await expect(parts.fetch(items("a", "b"), kept().keep)).rejects.toBeInstanceOf(ReauthRequiredError);
  });

  it("a one-message request that fails with 404 is that message gone; a larger one's is a failure", async () => {
    const gone: MessageFetcher = {
      maxIds: 10,
      fetch: async () => {
        throw httpError(404);
      },
    };
    const parts = new PartRetry(gone, recordingCalls().calls, () => {});
    const { seen, keep } = kept();
    await parts.fetch(items("a"), keep);
    expect(seen.get("a")).toBeNull();
    await expect(parts.fetch(items("b", "c"), keep)).rejects.toThrow("HTTP 404");
  });

  it("an answer missing a part fails the request without a retry, after keeping the parts it had", async () => {
    let first = true;
    const requests: string[][] = [];
    const short: MessageFetcher = {
      maxIds: 10,
      fetch: async (ids) => {
        requests.push([...ids]);
        const answered = ids.map((id) => ({ ok: true as const, message: gmailMessage(id) }));
        if (!first) return answered;
        first = false;
        return answered.slice(0, 1);
      },
    };
    const parts = new PartRetry(short, recordingCalls().calls, () => {});
    const { seen, keep } = kept();
    await expect(parts.fetch(items("a", "b"), keep)).rejects.toThrow("no part for message b");
    expect(requests).toEqual([["a", "b"]]);
    expect(seen.get("a")).toBe("a");
  });
});
