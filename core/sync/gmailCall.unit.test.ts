import { afterEach, describe, expect, it, vi } from "vitest";
import { GmailUnavailableError, ReauthRequiredError } from "../errors";
import { classifyGmailError, gmailCall, parseRetryAfter, refusedLimitOf } from "./gmailCall";

const NOW = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");
const CAP_MS = 5 * 60_000;

describe("parseRetryAfter", () => {
  it("reads delay-seconds as milliseconds", () => {
    expect(parseRetryAfter("1", NOW)).toBe(1_000);
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter(" 7 ", NOW)).toBe(7_000);
    expect(parseRetryAfter("0", NOW)).toBe(0);
  });

  it("reads an HTTP-date as the time from the injected now until that date", () => {
    expect(parseRetryAfter("Wed, 21 Oct 2026 07:28:02 GMT", NOW)).toBe(2_000);
    expect(parseRetryAfter("Wed, 21 Oct 2026 07:29:00 GMT", NOW)).toBe(60_000);
    // The same header read a moment later asks for less.
    expect(parseRetryAfter("Wed, 21 Oct 2026 07:29:00 GMT", NOW + 59_500)).toBe(500);
  });

  it("answers 0 for an HTTP-date already past", () => {
    expect(parseRetryAfter("Wed, 21 Oct 2026 07:27:59 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("Fri, 31 Dec 1999 23:59:59 GMT", NOW)).toBe(0);
  });

  it("answers undefined when the header is absent, empty or unreadable", () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter("", NOW)).toBeUndefined();
    expect(parseRetryAfter("   ", NOW)).toBeUndefined();
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
    expect(parseRetryAfter("5 minutes", NOW)).toBeUndefined();
  });

  it("reads only RFC 9110's forms: other dates, fractions and signs are unreadable, not a guess", () => {
    expect(parseRetryAfter("abc 2030", NOW)).toBeUndefined();
    expect(parseRetryAfter("2030-01-01T00:00:00Z", NOW)).toBeUndefined();
    expect(parseRetryAfter("1.5", NOW)).toBeUndefined();
    expect(parseRetryAfter("-5", NOW)).toBeUndefined();
    // The obsolete RFC 850 form and asctime still count.
    const inTenSeconds = new Date(NOW + 10_000);
    const rfc850 = inTenSeconds
      .toUTCString()
      .replace(
        /^(\w{3}), (\d{2}) (\w{3}) \d{2}(\d{2})/,
        (_m, d, dd, mon, yy) =>
          `${({ Mon: "Monday", Tue: "Tuesday", Wed: "Wednesday", Thu: "Thursday", Fri: "Friday", Sat: "Saturday", Sun: "Sunday" } as Record<string, string>)[d]}, ${dd}-${mon}-${yy}`,
      );
    expect(parseRetryAfter(rfc850, NOW)).toBe(10_000);
  });

  it("caps a long wait, in either form, at five minutes", () => {
    expect(parseRetryAfter("3600", NOW)).toBe(CAP_MS);
    expect(parseRetryAfter("301", NOW)).toBe(CAP_MS);
    expect(parseRetryAfter("299", NOW)).toBe(299_000);
    expect(parseRetryAfter("Thu, 22 Oct 2026 07:28:00 GMT", NOW)).toBe(CAP_MS);
  });
});

/** A googleapis-shaped failure: gaxios puts the answer's status and headers under `response`. */
function httpError(
  status: number,
  headers: Record<string, string> | Headers = {},
  reason = "rateLimitExceeded",
) {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    status,
    response: {
      status,
      headers,
      data: { error: { code: status, errors: [{ reason }] } },
    },
  });
}

describe("gmailCall and Retry-After", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /**
   * Runs a call that always fails with `error`; the first wait is reported, then the test stops the
   * call through its signal, so nothing actually sleeps.
   */
  async function firstWait(error: unknown, retry: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
    vi.spyOn(Date, "now").mockReturnValue(NOW);
    const controller = new AbortController();
    const waits: number[] = [];
    const fn = vi.fn(() => Promise.reject(error));
    const outcome = gmailCall(
      fn,
      {
        attempts: 5,
        baseDelayMs: 1,
        ...retry,
        onWait: (until) => {
          waits.push(until);
          controller.abort();
        },
      },
      controller.signal,
    );
    await expect(outcome).rejects.toMatchObject({ name: "AbortError" });
    expect(fn).toHaveBeenCalledTimes(1);
    return waits;
  }

  it("a 429 with Retry-After: 1 reports a wait ending a full second later, not the 1 ms backoff", async () => {
    expect(await firstWait(httpError(429, { "retry-after": "1" }))).toEqual([NOW + 1_000]);
  });

  it("reads Retry-After from fetch-style Headers as gaxios gives them", async () => {
    const headers = new Headers({ "Retry-After": "2" });
    expect(await firstWait(httpError(503, headers))).toEqual([NOW + 2_000]);
  });

  it("a 503 with an HTTP-date Retry-After waits until that date", async () => {
    const waits = await firstWait(httpError(503, { "retry-after": "Wed, 21 Oct 2026 07:28:03 GMT" }));
    expect(waits).toEqual([NOW + 3_000]);
  });

  it("keeps its own backoff when that is longer than Retry-After", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const waits = await firstWait(httpError(429, { "retry-after": "1" }), {
      baseDelayMs: 8_000,
      maxDelayMs: 32_000,
    });
    expect(waits).toEqual([NOW + 4_000]);
  });

  it("never waits longer than the cap, whatever Retry-After asks", async () => {
    expect(await firstWait(httpError(429, { "retry-after": "86400" }))).toEqual([NOW + CAP_MS]);
  });

  it("without Retry-After, the wait is the jittered backoff alone", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    expect(await firstWait(httpError(429), { baseDelayMs: 100 })).toEqual([NOW + 50]);
  });

  it("retries after the wait and answers what the next attempt returns", async () => {
    const fn = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(httpError(429, { "retry-after": "0" }))
      .mockRejectedValueOnce(httpError(503, { "retry-after": "0" }))
      .mockResolvedValueOnce("the answer");
    const waits: number[] = [];
    const answer = await gmailCall(fn, {
      baseDelayMs: 1,
      maxDelayMs: 1,
      onWait: (until) => waits.push(until),
    });
    expect(answer).toBe("the answer");
    expect(fn).toHaveBeenCalledTimes(3);
    expect(waits).toHaveLength(2);
  });

  it("gives up after its attempts with GmailUnavailableError, having waited between each", async () => {
    const fn = vi.fn(() => Promise.reject(httpError(503, { "retry-after": "0" })));
    const waits: number[] = [];
    await expect(
      gmailCall(fn, { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, onWait: (u) => waits.push(u) }),
    ).rejects.toBeInstanceOf(GmailUnavailableError);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(waits).toHaveLength(2);
  });

  it("does not wait on a revoked grant: 401 becomes ReauthRequiredError at once", async () => {
    const onWait = vi.fn();
    const fn = vi.fn(() => Promise.reject(httpError(401, { "retry-after": "1" })));
    await expect(gmailCall(fn, { onWait })).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onWait).not.toHaveBeenCalled();
  });
});

describe("gmailCall and Google's quota refusals", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("names the budget a refusal came from: userRateLimitExceeded the user, rateLimitExceeded the project, dailyLimitExceeded the day", () => {
    expect(refusedLimitOf(httpError(403, {}, "userRateLimitExceeded"))).toBe("user");
    expect(refusedLimitOf(httpError(429, {}, "rateLimitExceeded"))).toBe("project");
    expect(refusedLimitOf(httpError(403, {}, "dailyLimitExceeded"))).toBe("day");
    expect(refusedLimitOf(httpError(503, {}, "backendError"))).toBeUndefined();
    expect(classifyGmailError(httpError(403, {}, "dailyLimitExceeded"))).toBe("daily");
    expect(classifyGmailError(httpError(403, {}, "userRateLimitExceeded"))).toBe("retry");
  });

  it("a rate refusal's backoff is told with the budget that refused it", async () => {
    vi.spyOn(Date, "now").mockReturnValue(NOW);
    const controller = new AbortController();
    const waits: Array<[number, string | undefined]> = [];
    const outcome = gmailCall(
      () => Promise.reject(httpError(403, { "retry-after": "1" }, "userRateLimitExceeded")),
      {
        baseDelayMs: 1,
        onWait: (until, _cause, limit) => {
          waits.push([until, limit]);
          controller.abort();
        },
      },
      controller.signal,
    );
    await expect(outcome).rejects.toMatchObject({ name: "AbortError" });
    expect(waits).toEqual([[NOW + 1_000, "user"]]);
  });

  it("a daily refusal waits for Google's reset at midnight Pacific Time, even on the last attempt, where a backoff would give up", async () => {
    // 23:30 PDT on 20 October: the reset is 07:00 UTC on the 21st, half an hour away.
    const now = Date.parse("2026-10-21T06:30:00Z");
    vi.spyOn(Date, "now").mockReturnValue(now);
    const waits: Array<[number, string | undefined]> = [];
    const fn = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(httpError(403, {}, "dailyLimitExceeded"))
      .mockResolvedValueOnce("after the reset");
    const controller = new AbortController();
    const outcome = gmailCall(
      fn,
      {
        attempts: 1,
        onWait: (until, _cause, limit) => {
          waits.push([until, limit]);
          controller.abort();
        },
      },
      controller.signal,
    );
    await expect(outcome).rejects.toMatchObject({ name: "AbortError" });
    expect(waits).toHaveLength(1);
    expect(waits[0]![1]).toBe("day");
    const reset = Date.parse("2026-10-21T07:00:00Z");
    expect(waits[0]![0]).toBeGreaterThanOrEqual(reset);
    expect(waits[0]![0]).toBeLessThanOrEqual(reset + 10_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
