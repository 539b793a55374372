/**
 * The browser app's addresses: each view's path answers the app's page (so reload and deep links
 * work), other prefixes keep their own answers, and a sign-in started from a deep link lands on
 * that same path — a same-origin path only, never another site.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack } from "../../test/stack";

const PAGE = "<!doctype html><title>inbox-sync app page</title>";

/** Follows a sign-in from `start` through the simulator until it leaves the sign-in's paths. */
async function landing(client: ApiClient, start: string): Promise<string> {
  let res = await client.raw("GET", start);
  for (let hop = 0; hop < 8 && res.status === 302; hop++) {
    const next = new URL(res.headers.get("location")!, client.baseUrl);
    if (next.origin !== new URL(client.baseUrl).origin) {
      res = await fetch(next, { redirect: "manual" });
      continue;
    }
    if (!next.pathname.startsWith("/auth/")) return res.headers.get("location")!;
    res = await client.raw("GET", next.toString());
  }
  throw new Error(`the sign-in did not land (last status ${res.status})`);
}

describe("app routes and the way back after sign-in", () => {
  let stack: Stack;
  beforeAll(async () => {
    const clientDir = mkdtempSync(path.join(tmpdir(), "inbox-sync-client-"));
    writeFileSync(path.join(clientDir, "index.html"), PAGE);
    writeFileSync(path.join(clientDir, "app.js"), "");
    stack = await startStack({ workers: 0, web: { clientDir } });
    await stack.simControl("POST", "/sim/accounts", { email: "routes@example.com", count: 1 });
  });
  afterAll(() => stack?.close());

  it.each(["/", "/mail", "/mail/18c2f0a1b", "/label/Label_1", "/search?q=budget", "/settings"])(
    "answers the app's page for %s, signed out too",
    async (route) => {
      const res = await fetch(`${stack.web.url}${route}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await res.text()).toBe(PAGE);
    },
  );

  it("keeps an unknown /api path a JSON 404 and other prefixes their own answers", async () => {
    const client = new ApiClient(stack.web.url);
    await client.signIn("routes@example.com");
    const api = await client.raw("GET", "/api/mail/1");
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("not_found");
    for (const other of ["/mail/a/b", "/auth/mail", "/webhooks/mail", "/settings/x", "/labels"]) {
      const res = await fetch(`${stack.web.url}${other}`);
      expect(res.status, other).toBe(404);
      expect(await res.text(), other).not.toBe(PAGE);
    }
  });

  it("lands a sign-in started from a deep link on that path, query included", async () => {
    const client = new ApiClient(stack.web.url);
    const start = `/auth/google?login_hint=routes%40example.com&returnTo=${encodeURIComponent("/search?q=budget report")}`;
    expect(await landing(client, start)).toBe("/search?q=budget%20report");
    expect((await client.json("GET", "/api/me")).status).toBe(200);
  });

  it.each([
    "//evil.example/x",
    "https://evil.example/",
    "/\\evil.example",
    "/..//evil.example",
    "/auth/google",
  ])("never sends the browser elsewhere: returnTo=%s lands on /", async (returnTo) => {
    const client = new ApiClient(stack.web.url);
    const start = `/auth/google?login_hint=routes%40example.com&returnTo=${encodeURIComponent(returnTo)}`;
    expect(await landing(client, start)).toBe("/");
  });

  it("tells the page when mail next arrives by itself: push off, the schedule's next check ahead", async () => {
    const client = new ApiClient(stack.web.url);
    await client.signIn("routes@example.com");
    const me = (await client.json("GET", "/api/me")).body as { push: boolean; nextCheckAt: string };
    expect(me.push).toBe(false);
    expect(Date.parse(me.nextCheckAt)).toBeGreaterThan(Date.now());
    expect(Date.parse(me.nextCheckAt)).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it("lands on / when the sign-in did not ask for a path", async () => {
    const client = new ApiClient(stack.web.url);
    expect(await landing(client, "/auth/google?login_hint=routes%40example.com")).toBe("/");
  });
});
