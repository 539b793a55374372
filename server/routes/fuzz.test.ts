import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";

/** A small seeded generator, so a failure names an input that can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  "",
  " ",
  "0",
  "-1",
  "1e309",
  "NaN",
  "null",
  "undefined",
  "[]",
  "{}",
  "%00",
  "%",
  "%E0%A4%A",
  "..%2F..%2Fetc%2Fpasswd",
  "' OR 1=1 --",
  "\\",
  "😀".repeat(50),
  "a".repeat(5000),
  "<script>alert(1)</script>",
  "$" + "{jndi:ldap://x}", // a log4j probe, spelled so it is not a template
  "__proto__",
  "constructor",
];

describe("fuzzed input never reaches a 500", () => {
  let stack: Stack;
  let user: ApiClient;
  beforeAll(async () => {
    stack = await startStack();
    await stack.simControl("POST", "/sim/accounts", { email: "fuzz@example.com", count: 30 });
    user = await stack.signIn("fuzz@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, body.taskId);
  });
  afterAll(() => stack?.close());

  it("answers hostile paths, queries and bodies with 4xx JSON errors or real answers", async () => {
    const random = prng(20261128);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const noise = () =>
      Array.from({ length: 1 + Math.floor(random() * 40) }, () =>
        String.fromCodePoint(Math.floor(random() * 0xd7ff) + 1),
      ).join("");
    // Mostly well-formed encodings of nasty values, and some raw malformed percent-escapes.
    const RAW = ["%", "%E0%A4%A", "%00", "%zz", "..%2F..%2F", "%C0%AE%C0%AE"];
    const value = () => {
      const r = random();
      if (r < 0.15) return pick(RAW);
      return encodeURIComponent(r < 0.6 ? pick(NASTY) : noise());
    };
    const requests: Array<{ method: string; path: string; body?: string; type?: string }> = [];
    for (let i = 0; i < 250; i++) {
      const kind = i % 6;
      if (kind === 0) requests.push({ method: "GET", path: `/api/emails/${value()}` });
      if (kind === 1) requests.push({ method: "GET", path: `/api/emails/sync/status/${value()}` });
      if (kind === 2) {
        const key = pick(["limit", "cursor", "q", "limit[]", "q[a]", "cursor"]);
        requests.push({
          method: "GET",
          path: `/api/emails?${key}=${value()}&${pick(["limit", "q"])}=${value()}`,
        });
      }
      if (kind === 3) {
        const bodies = [
          noise(),
          JSON.stringify(pick(NASTY)),
          '{"name":{"$gt":""}}',
          "[1,2,3]",
          "null",
          `{"name":${"[".repeat(3000)}`,
        ];
        requests.push({
          method: "POST",
          path: "/api/tokens",
          body: pick(bodies),
          type: pick(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
        });
      }
      if (kind === 4)
        requests.push({ method: pick(["PUT", "PATCH", "DELETE", "POST"]), path: `/api/${value()}` });
      if (kind === 5) requests.push({ method: "GET", path: `/auth/google?login_hint=${value()}` });
    }
    for (const r of requests) {
      const res = await user.raw(r.method, r.path, {
        body: r.body,
        headers: r.type ? { "content-type": r.type } : {},
      });
      const text = await res.text();
      const where = `${r.method} ${r.path.slice(0, 120)} ${String(r.body ?? "").slice(0, 60)} → ${res.status} ${text.slice(0, 200)}`;
      expect(res.status, where).toBeLessThan(500);
      if (res.status >= 400) {
        const body = JSON.parse(text);
        expect(typeof body.error?.code, where).toBe("string");
        expect(typeof body.error?.message, where).toBe("string");
      }
    }
    // The server is still whole afterwards.
    expect((await user.json("GET", "/api/me")).body.emailCount).toBe(30);
  });

  it("never lets one user reach another's task, email or token by any id", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "probe@example.com", count: 3 });
    const probe = await stack.signIn("probe@example.com");
    const mine = await user.json("GET", "/api/emails?limit=30");
    const task = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, task.body.taskId);
    for (const e of mine.body.emails) {
      const res = await probe.json("GET", `/api/emails/${e.id}`);
      expect(res.status).toBe(404);
    }
    expect((await probe.json("GET", `/api/emails/sync/status/${task.body.taskId}`)).status).toBe(404);
    expect(
      (await probe.json("GET", `/api/emails/sync/status/${task.body.taskId.toUpperCase()}`)).status,
    ).toBe(404);
    const list = await probe.json("GET", `/api/emails?limit=200&q=${encodeURIComponent("fuzz@example.com")}`);
    expect(list.body.emails).toEqual([]);
    // A cursor minted from the other user's list only pages the prober's own mail.
    const cursor = (await user.json("GET", "/api/emails?limit=1")).body.nextCursor;
    const paged = await probe.json("GET", `/api/emails?cursor=${cursor}`);
    expect(paged.status).toBe(200);
    for (const e of paged.body.emails) expect(e.to).toContain("probe@example.com");
  });
});
