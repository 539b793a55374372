/**
 * Quota profiles through HTTP, driven by the real googleapis client: Google's error bodies for
 * each limit, per-part refusals inside a batch, the day's reset crossed with Gmail's clock, and
 * the units in `GET /sim/stats`.
 */
import type { OAuth2Client } from "google-auth-library";
import type { gmail_v1 } from "googleapis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "./server";
import { control, failure, gmailFor, listAll } from "./testClient";

const email = "quota@example.com";
let sim: GmailSimulator;
let gmail: gmail_v1.Gmail;
let ids: string[];

beforeAll(async () => {
  sim = createGmailSimulator({ accounts: [{ email, count: 60 }] });
  await sim.listen(0, "127.0.0.1");
  gmail = await gmailFor(sim, email);
  ids = await listAll(gmail, {});
});
afterAll(async () => {
  await sim?.close();
});
afterEach(async () => {
  await control(sim, "DELETE", "/quota");
  await control(sim, "DELETE", "/clock");
  await control(sim, "DELETE", "/batch");
});

async function bearer(): Promise<string> {
  const auth = (gmail as unknown as { context: { _options: { auth: OAuth2Client } } }).context._options.auth;
  return `Bearer ${(await auth.getAccessToken()).token}`;
}

/** A Gmail call by plain fetch, to read the answer's headers. */
async function raw(path: string): Promise<Response> {
  return fetch(`${sim.url}/gmail/v1/users/me/${path}`, { headers: { authorization: await bearer() } });
}

const get = (id: string) => gmail.users.messages.get({ userId: "me", id, format: "minimal" });

describe("quota profile 2026 over HTTP", () => {
  it("answers the user's minute with Google's 403 userRateLimitExceeded, no Retry-After, until the minute has passed", async () => {
    const put = await control(sim, "PUT", "/quota", { profile: "2026", userUnitsPerMinute: 50 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      profile: "2026",
      userUnitsPerMinute: 50,
      projectUnitsPerDay: 80_000_000,
    });
    await control(sim, "DELETE", "/stats");
    for (const id of ids.slice(0, 10)) await get(id);
    const res = await raw(`messages/${ids[10]}?format=minimal`);
    expect(res.status).toBe(403);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toEqual({
      error: {
        code: 403,
        message: "User Rate Limit Exceeded",
        errors: [
          { message: "User Rate Limit Exceeded", domain: "usageLimits", reason: "userRateLimitExceeded" },
        ],
        status: "PERMISSION_DENIED",
      },
    });
    await control(sim, "PUT", "/clock", { offsetMs: 61_000 });
    expect((await get(ids[10]!)).status).toBe(200);

    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.units.spent["messages.get"]).toBe(55);
    expect(stats.units.refused["messages.get"]).toEqual({ userRateLimitExceeded: 5 });
    expect(stats.units.refusals["messages.get"]).toEqual({ userRateLimitExceeded: 1 });
    expect(stats.rejected["messages.get"]).toBe(1);
  });

  it("answers 429 RESOURCE_EXHAUSTED, with no Retry-After, when the limits are set to answer 429", async () => {
    await control(sim, "PUT", "/quota", { profile: "2026", userUnitsPerMinute: 5, rateLimitStatus: 429 });
    await get(ids[0]!);
    const refused = await raw(`messages/${ids[1]}?format=minimal`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeNull();
    const body = (await refused.json()) as { error: { status: string; errors: { reason: string }[] } };
    expect(body.error.errors[0]!.reason).toBe("userRateLimitExceeded");
    expect(body.error.status).toBe("RESOURCE_EXHAUSTED");
  });

  it("refuses the day's project quota with 403 dailyLimitExceeded and admits again after midnight Pacific Time", async () => {
    // 23:59:30 PST on 7 December 2026.
    await control(sim, "PUT", "/clock", { now: "2026-12-08T07:59:30Z" });
    await control(sim, "PUT", "/quota", { profile: "2026", projectUnitsPerDay: 10 });
    await get(ids[0]!);
    await get(ids[1]!);
    const refused = await failure(get(ids[2]!));
    expect(refused.status).toBe(403);
    expect(refused.data.error.errors[0]).toEqual({
      message: "Daily Limit Exceeded",
      domain: "usageLimits",
      reason: "dailyLimitExceeded",
    });
    expect((await control(sim, "GET", "/quota")).body.usage).toMatchObject({
      day: "2026-12-07",
      projectUnitsToday: 10,
    });
    await control(sim, "PUT", "/clock", { now: "2026-12-08T08:00:01Z" });
    expect((await get(ids[2]!)).status).toBe(200);
    expect((await control(sim, "GET", "/quota")).body.usage).toMatchObject({
      day: "2026-12-08",
      projectUnitsToday: 5,
    });
  });

  it("refuses the parts of a batch one by one: with 50 units a minute, 10 of 20 gets are answered and 10 refused with 403", async () => {
    await control(sim, "PUT", "/quota", { profile: "2026", userUnitsPerMinute: 50 });
    const boundary = "batch_quota";
    const body = `${ids
      .slice(0, 20)
      .map(
        (id, i) =>
          `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=minimal\r\n\r\n`,
      )
      .join("")}--${boundary}--\r\n`;
    const auth = await bearer();
    const res = await fetch(`${sim.url}/batch/gmail/v1`, {
      method: "POST",
      headers: { authorization: auth, "content-type": `multipart/mixed; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.split("HTTP/1.1 200 OK").length - 1).toBe(10);
    expect(text.split("HTTP/1.1 403 Forbidden").length - 1).toBe(10);
    expect(text.split('"reason":"userRateLimitExceeded"').length - 1).toBe(10);
  });

  it("charges threads.get its own cost (10 units) and answers it in full, metadata and minimal", async () => {
    await control(sim, "PUT", "/quota", { profile: "2026" });
    await control(sim, "DELETE", "/stats");
    const message = (await get(ids[0]!)).data;
    for (const format of ["full", "metadata", "minimal"]) {
      const { data } = await gmail.users.threads.get({ userId: "me", id: message.threadId!, format });
      expect(data.id).toBe(message.threadId);
      expect(data.messages!.map((m) => m.threadId)).toEqual(data.messages!.map(() => message.threadId));
      expect(data.messages!.some((m) => m.id === message.id)).toBe(true);
      expect(data.messages![0]!.payload === undefined).toBe(format === "minimal");
    }
    expect((await failure(gmail.users.threads.get({ userId: "me", id: "ffffffffffffffff" }))).status).toBe(
      404,
    );
    const raw = await failure(
      gmail.users.threads.get({ userId: "me", id: message.threadId!, format: "raw" }),
    );
    expect(raw.status).toBe(400);
    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.units.spent["threads.get"]).toBe(50);
    expect(stats.calls["threads.get"]).toBe(5);
  });
});

describe("batch endpoint taken away", () => {
  it("answers 404, 405 or 501 as Google's front end does while PUT /sim/batch says so, and serves batches again after DELETE", async () => {
    for (const status of [404, 405, 501]) {
      expect((await control(sim, "PUT", "/batch", { status })).body).toEqual({ status });
      const res = await fetch(`${sim.url}/batch/gmail/v1`, {
        method: "POST",
        headers: { "content-type": "multipart/mixed; boundary=b" },
        body: "--b--\r\n",
      });
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
      expect(await res.text()).toContain(`<b>${status}.</b>`);
    }
    expect((await control(sim, "PUT", "/batch", { status: 500 })).status).toBe(400);
    expect((await control(sim, "DELETE", "/batch")).body).toEqual({ status: null });
    const served = await fetch(`${sim.url}/batch/gmail/v1`, {
      method: "POST",
      headers: { "content-type": "multipart/mixed; boundary=b" },
      body: `--b\r\nContent-Type: application/http\r\n\r\nGET /gmail/v1/users/me/profile\r\n\r\n--b--\r\n`,
    });
    expect(served.status).toBe(200);
  });
});
