/**
 * `Retry-After` on the simulator's injected 429 and 503 answers, in both forms RFC 9110 allows.
 * Faults are drawn before authentication, as a load balancer's answer would be, so plain requests
 * without a token are enough here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseFaultSettings, retryAfterValue } from "./faults";
import { createGmailSimulator, type GmailSimulator } from "./server";

/** RFC 9110 §5.6.7 IMF-fixdate. */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

describe("Retry-After on injected faults", () => {
  let sim: GmailSimulator;
  const faults = async (body?: unknown, method = "PUT") => {
    const res = await fetch(`${sim.url}/sim/faults`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const gmailCall = () => fetch(`${sim.url}/gmail/v1/users/me/profile`);

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
  });
  afterEach(async () => {
    await faults(undefined, "DELETE");
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("sends Retry-After as delay-seconds on a 429 and on a 503 when asked", async () => {
    for (const [rate, status] of [
      ["rate429", 429],
      ["rate503", 503],
    ] as const) {
      expect((await faults({ [rate]: 1, retryAfterSeconds: 2 })).status).toBe(200);
      const res = await gmailCall();
      expect(res.status).toBe(status);
      expect(res.headers.get("retry-after")).toBe("2");
      // Still Google's error body.
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(status);
    }
  });

  it("sends Retry-After as an IMF-fixdate at least the asked seconds after the answer's time", async () => {
    for (const [rate, status] of [
      ["rate429", 429],
      ["rate503", 503],
    ] as const) {
      await faults({ [rate]: 1, retryAfterSeconds: 3, retryAfterFormat: "http-date" });
      const sent = Date.now();
      const res = await gmailCall();
      const received = Date.now();
      expect(res.status).toBe(status);
      const value = res.headers.get("retry-after")!;
      expect(value).toMatch(IMF_FIXDATE);
      const at = Date.parse(value);
      // Never sooner than asked (rounded up to a whole second), at most one second later.
      expect(at).toBeGreaterThanOrEqual(sent + 3_000);
      expect(at).toBeLessThanOrEqual(received + 4_000);
      expect(at % 1000).toBe(0);
      // The answer's own Date header is an earlier instant on the same clock.
      expect(at - Date.parse(res.headers.get("date")!)).toBeGreaterThanOrEqual(3_000);
    }
  });

  it("sends no Retry-After unless asked, and never on an injected 500", async () => {
    await faults({ rate429: 1 });
    expect((await gmailCall()).headers.get("retry-after")).toBeNull();
    await faults({ rate503: 1 });
    expect((await gmailCall()).headers.get("retry-after")).toBeNull();
    await faults({ rate500: 1, retryAfterSeconds: 2 });
    const res = await gmailCall();
    expect(res.status).toBe(500);
    expect(res.headers.get("retry-after")).toBeNull();
  });

  it("reads back what was set, and DELETE clears Retry-After with the rest", async () => {
    await faults({ rate429: 0.5, retryAfterSeconds: 7, retryAfterFormat: "http-date" });
    expect((await faults(undefined, "GET")).body).toMatchObject({
      rate429: 0.5,
      retryAfterSeconds: 7,
      retryAfterFormat: "http-date",
    });
    expect((await faults(undefined, "DELETE")).body).toMatchObject({
      rate429: 0,
      retryAfterSeconds: null,
      retryAfterFormat: "seconds",
    });
  });

  it("refuses a fractional, negative, too long or mistyped Retry-After, and a format without seconds", async () => {
    for (const body of [
      { rate429: 1, retryAfterSeconds: 1.5 },
      { rate429: 1, retryAfterSeconds: -1 },
      { rate429: 1, retryAfterSeconds: 86_401 },
      { rate429: 1, retryAfterSeconds: "2" },
      { rate429: 1, retryAfterSeconds: 2, retryAfterFormat: "minutes" },
      { rate429: 1, retryAfterFormat: "http-date" },
    ]) {
      const answer = await faults(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("invalid_request");
      expect(answer.body.error.message).toMatch(/retryAfter/);
    }
  });
});

describe("retryAfterValue", () => {
  it("writes delay-seconds as digits only", () => {
    expect(retryAfterValue(0, "seconds")).toBe("0");
    expect(retryAfterValue(120, "seconds")).toBe("120");
  });

  it("writes an HTTP-date rounded up to the whole second, never earlier than the delay", () => {
    const now = Date.parse("2026-10-21T07:28:00.000Z");
    expect(retryAfterValue(2, "http-date", now)).toBe("Wed, 21 Oct 2026 07:28:02 GMT");
    expect(retryAfterValue(2, "http-date", now + 1)).toBe("Wed, 21 Oct 2026 07:28:03 GMT");
    expect(retryAfterValue(2, "http-date", now + 999)).toBe("Wed, 21 Oct 2026 07:28:03 GMT");
  });

  it("parseFaultSettings defaults to no Retry-After", () => {
    expect(parseFaultSettings({ rate429: 1 })).toMatchObject({
      retryAfterSeconds: null,
      retryAfterFormat: "seconds",
    });
    expect(parseFaultSettings({ rate503: 1, retryAfterSeconds: 0 })).toMatchObject({ retryAfterSeconds: 0 });
  });
});
