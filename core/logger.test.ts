import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../gmail-sim/server";
import { ApiClient } from "../test/ApiClient";
import { spawnWeb } from "../test/processes";
import { gmailClientFor } from "../test/simGmail";
import { createLogger } from "./logger";

describe("logs never carry OAuth tokens", () => {
  let sim: GmailSimulator;
  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "logs@example.com", count: 3 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  it("logs a real googleapis error by kind, message and status only", async () => {
    const gmail = await gmailClientFor(sim.url, "logs@example.com");
    const credentials = (
      gmail.context._options.auth as { credentials: { access_token: string; refresh_token: string } }
    ).credentials;
    expect(credentials.access_token.length).toBeGreaterThan(10);
    const error = await gmail.users.messages
      .get({ userId: "me", id: "0000000000000000" })
      .catch((e: unknown) => e);
    // gaxios redacts its own errors today; an HTTP client that does not (or a future version)
    // would hand us something like this, and it must not be written either.
    const careless = Object.assign(new Error("token refresh failed"), {
      code: 400,
      config: { headers: { Authorization: `Bearer ${credentials.access_token}` } },
      response: { status: 400, data: { refresh_token: credentials.refresh_token } },
    });

    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger("test", "trace", { destination: sink });
    log.error({ err: error }, "sync failed");
    log.error({ err: careless }, "refresh failed");
    log.warn(
      { error, tokens: credentials, user: { refresh_token: credentials.refresh_token } },
      "other shapes",
    );
    const text = lines.join("");
    expect(text).toContain('"status":404');
    expect(text).toContain("Requested entity was not found.");
    expect(text).toContain("token refresh failed");
    expect(text).not.toContain(credentials.access_token);
    expect(text).not.toContain(credentials.refresh_token);
  });
});

describe("a web process's own logs, at trace level, through sign-in and API tokens", () => {
  let sim: GmailSimulator;
  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "traced@example.com", count: 2 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  it("carry no OAuth code, state, session cookie or API token, even when a token exchange is refused", async () => {
    const web = await spawnWeb({
      databaseUrl: inject("databaseUrl"),
      redisUrl: inject("redisUrl"),
      queuePrefix: `${inject("queuePrefix")}-logs`,
      simUrl: sim.url,
      env: { LOG_LEVEL: "trace" },
    });
    try {
      const planted: string[] = [];
      const user = new ApiClient(web.url);
      const hops = await signInRecording(user, "traced@example.com");
      for (const hop of hops) {
        for (const name of ["code", "state", "code_challenge"]) {
          const value = hop.searchParams.get(name);
          if (value) planted.push(value);
        }
      }
      expect(planted.length).toBeGreaterThanOrEqual(3);
      planted.push(...user.cookieHeader.split("; ").map((c) => c.slice(c.indexOf("=") + 1)));
      const me = await user.json("GET", "/api/me");
      user.csrfToken = me.body.csrfToken;
      const { body } = await user.json("POST", "/api/tokens", { name: "logs" });
      planted.push(body.token);
      const viaToken = await fetch(`${web.url}/api/me`, {
        headers: { authorization: `Bearer ${body.token}` },
      });
      expect(viaToken.status).toBe(200);
      // A used code, sent again on a fresh sign-in: Google (here the simulator) refuses the exchange.
      const code = hops.find((h) => h.searchParams.has("code"))!.searchParams.get("code")!;
      const again = new ApiClient(web.url);
      const start = await again.raw("GET", "/auth/google?login_hint=traced%40example.com");
      const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
      planted.push(state);
      const replay = await again.raw(
        "GET",
        `/auth/google/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`,
        { headers: { accept: "application/json" } },
      );
      expect(replay.status).toBeGreaterThanOrEqual(400);

      const logs = web.output();
      expect(logs).toContain('"msg":"signed in"');
      for (const secret of planted) {
        expect(secret.length).toBeGreaterThan(8);
        expect(logs).not.toContain(secret);
      }
    } finally {
      await web.stop();
    }
  });
});

/** The real OAuth redirects, web → simulator → web, keeping every hop's URL. */
async function signInRecording(client: ApiClient, email: string): Promise<URL[]> {
  const hops: URL[] = [];
  let res = await client.raw("GET", `/auth/google?login_hint=${encodeURIComponent(email)}`);
  for (let hop = 0; hop < 8; hop++) {
    expect(res.status).toBe(302);
    const next = new URL(res.headers.get("location")!, client.baseUrl);
    if (next.toString() === `${client.baseUrl}/`) return hops;
    hops.push(next);
    res = next.toString().startsWith(client.baseUrl)
      ? await client.raw("GET", next.toString())
      : await fetch(next, { redirect: "manual" });
  }
  throw new Error("sign-in kept redirecting");
}
