/**
 * The simulator driven the way the app drives Google: the real googleapis Gmail client and
 * google-auth-library's OAuth2Client, pointed at the simulator's URLs.
 */
import { OAuth2Client } from "google-auth-library";
import { type gmail_v1, google } from "googleapis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "./server";

type Json = any;

const SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
const REDIRECT = "http://127.0.0.1:3999/auth/google/callback";

interface Connection {
  client: OAuth2Client;
  gmail: gmail_v1.Gmail;
  refreshToken: string;
  accessToken: string;
}

function oauthClient(url: string, extra: { forceRefreshOnFailure?: boolean } = {}): OAuth2Client {
  return new OAuth2Client({
    clientId: "sim-test-client",
    clientSecret: "sim-test-secret",
    redirectUri: REDIRECT,
    endpoints: {
      oauth2AuthBaseUrl: `${url}/o/oauth2/v2/auth`,
      oauth2TokenUrl: `${url}/token`,
      oauth2RevokeUrl: `${url}/revoke`,
    },
    ...extra,
  });
}

async function authorize(client: OAuth2Client, email: string, state = "st-1"): Promise<string> {
  const authUrl = client.generateAuthUrl({
    access_type: "offline",
    prompt: "consent",
    scope: [SCOPE],
    state,
    login_hint: email,
  });
  const res = await fetch(authUrl, { redirect: "manual" });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get("state")).toBe(state);
  return location.searchParams.get("code")!;
}

async function connect(sim: GmailSimulator, email: string): Promise<Connection> {
  const client = oauthClient(sim.url);
  const code = await authorize(client, email);
  const { tokens } = await client.getToken(code);
  client.setCredentials(tokens);
  const gmail = google.gmail({ version: "v1", auth: client, rootUrl: `${sim.url}/`, retry: false });
  return { client, gmail, refreshToken: tokens.refresh_token!, accessToken: tokens.access_token! };
}

async function control(sim: GmailSimulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.url}/sim${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** The rejection of a googleapis call (a GaxiosError). */
async function failure(promise: Promise<unknown>): Promise<{ status?: number; code?: string; data?: Json }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Json;
    return { status: e.status ?? e.response?.status, code: e.code, data: e.response?.data };
  }
  throw new Error("expected the call to fail");
}

let sim: GmailSimulator;
let alice: Connection;

beforeAll(async () => {
  sim = createGmailSimulator({
    accounts: [
      { email: "alice@example.com", count: 1200 },
      { email: "bob@example.com", count: 300 },
    ],
    seed: "vitest",
  });
  await sim.listen(0, "127.0.0.1");
  alice = await connect(sim, "alice@example.com");
});

afterAll(async () => {
  await sim.close();
});

describe("OAuth2", () => {
  it("issues tokens for a code once, to the redirect URI it was issued for", async () => {
    const client = oauthClient(sim.url);
    const code = await authorize(client, "bob@example.com", "xyz");
    const { tokens } = await client.getToken(code);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.scope).toBe(SCOPE);
    expect(tokens.expiry_date).toBeGreaterThan(Date.now() + 3500_000);
    const again = await failure(client.getToken(code));
    expect(again.status).toBe(400);
    expect(again.data.error).toBe("invalid_grant");
  });

  it("accepts client credentials in a Basic header and JSON bodies", async () => {
    const client = oauthClient(sim.url);
    const code = await authorize(client, "bob@example.com");
    const res = await fetch(`${sim.url}/token`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from("basic-client:secret").toString("base64")}`,
      },
      body: JSON.stringify({ grant_type: "authorization_code", code, redirect_uri: REDIRECT }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(sim.state.oauth.clientIds.has("basic-client")).toBe(true);
  });

  it("shows an accessible account chooser without a known login_hint", async () => {
    const client = oauthClient(sim.url);
    for (const hint of [undefined, "nobody@example.com"]) {
      const url = client.generateAuthUrl({
        access_type: "offline",
        scope: [SCOPE],
        state: "s",
        ...(hint ? { login_hint: hint } : {}),
      });
      const res = await fetch(url, { redirect: "manual" });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain("Choose an account");
      expect(html).toContain('data-email="alice@example.com"');
      expect(html).toContain('<html lang="en">');
      if (hint) expect(html).toContain('role="alert"');
      // Following the account's link consents for that account.
      const href = /data-email="bob@example.com" href="([^"]+)"/.exec(html)![1]!.replaceAll("&amp;", "&");
      const chosen = await fetch(new URL(href, sim.url), { redirect: "manual" });
      expect(chosen.status).toBe(302);
      expect(new URL(chosen.headers.get("location")!).searchParams.get("code")).toBeTruthy();
    }
    const bad = await fetch(`${sim.url}/o/oauth2/v2/auth?redirect_uri=${encodeURIComponent(REDIRECT)}`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("text/html");
  });

  it("revocation ends refresh (invalid_grant) and API access (401)", async () => {
    const conn = await connect(sim, "bob@example.com");
    await conn.gmail.users.getProfile({ userId: "me" });
    expect((await control(sim, "POST", "/accounts/bob@example.com/revoke")).body.revoked).toBeGreaterThan(0);
    const api = await failure(conn.gmail.users.getProfile({ userId: "me" }));
    expect(api.status).toBe(401);
    expect(api.data.error.status).toBe("UNAUTHENTICATED");
    const refresh = await failure(conn.client.refreshAccessToken());
    expect(refresh.data).toEqual({
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    });

    // The client's own revoke endpoint does the same.
    const other = await connect(sim, "bob@example.com");
    const revoked = await other.client.revokeToken(other.refreshToken);
    expect(revoked.status).toBe(200);
    expect((await failure(other.client.refreshAccessToken())).data.error).toBe("invalid_grant");
  });

  it("lets the client refresh an expired access token transparently", async () => {
    // Its clock is moved past the token's lifetime rather than slept through.
    let aheadMs = 0;
    const shortLived = createGmailSimulator({
      accounts: [{ email: "carol@example.com", count: 10 }],
      accessTokenLifetimeSeconds: 1,
      now: () => Date.now() + aheadMs,
    });
    await shortLived.listen(0, "127.0.0.1");
    try {
      const conn = await connect(shortLived, "carol@example.com");
      expect((await conn.gmail.users.getProfile({ userId: "me" })).data.emailAddress).toBe(
        "carol@example.com",
      );
      aheadMs += 1_100;
      const stale = await fetch(`${shortLived.url}/gmail/v1/users/me/profile`, {
        headers: { authorization: `Bearer ${conn.accessToken}` },
      });
      expect(stale.status).toBe(401);
      // A client that believes its token is still good gets a 401, refreshes and retries.
      const trusting = oauthClient(shortLived.url, { forceRefreshOnFailure: true });
      trusting.setCredentials({
        access_token: conn.accessToken,
        refresh_token: conn.refreshToken,
        expiry_date: Date.now() + 3_600_000,
      });
      const gmail = google.gmail({
        version: "v1",
        auth: trusting,
        rootUrl: `${shortLived.url}/`,
        retry: false,
      });
      const profile = await gmail.users.getProfile({ userId: "me" });
      expect(profile.data.messagesTotal).toBe(10);
      expect(trusting.credentials.access_token).not.toBe(conn.accessToken);
      expect(shortLived.state.stats.snapshot().calls["oauth.refresh"]).toBeGreaterThanOrEqual(1);
    } finally {
      await shortLived.close();
    }
  });
});

describe("Gmail API", () => {
  it("answers the profile", async () => {
    const { data, headers } = await alice.gmail.users.getProfile({ userId: "me" });
    expect(data).toEqual({
      emailAddress: "alice@example.com",
      messagesTotal: 1200,
      threadsTotal: expect.any(Number),
      historyId: expect.stringMatching(/^\d+$/),
    });
    expect(headers["content-type"] ?? (headers as unknown as Headers).get?.("content-type")).toBe(
      "application/json; charset=UTF-8",
    );
  });

  it("requires a valid bearer token and the caller's own mailbox", async () => {
    const none = await fetch(`${sim.url}/gmail/v1/users/me/profile`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: {
        code: 401,
        message:
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        errors: [
          {
            message: "Invalid Credentials",
            domain: "global",
            reason: "authError",
            location: "Authorization",
            locationType: "header",
          },
        ],
        status: "UNAUTHENTICATED",
      },
    });
    const own = await alice.gmail.users.getProfile({ userId: "alice@example.com" });
    expect(own.data.emailAddress).toBe("alice@example.com");
    const foreign = await failure(alice.gmail.users.getProfile({ userId: "bob@example.com" }));
    expect(foreign.status).toBe(403);
    expect(foreign.data.error.status).toBe("PERMISSION_DENIED");
  });

  it("pages through 1,200 messages in exactly 3 pages of up to 500, newest first", async () => {
    const ids: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const { data } = await alice.gmail.users.messages.list({
        userId: "me",
        maxResults: 1000,
        includeSpamTrash: true,
        ...(pageToken ? { pageToken } : {}),
      });
      pages++;
      expect(data.messages!.length).toBeLessThanOrEqual(500);
      expect(data.resultSizeEstimate).toBe(1200);
      ids.push(...data.messages!.map((m) => m.id!));
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(1200);
    expect(new Set(ids).size).toBe(1200);
    const truth = (await control(sim, "GET", "/accounts/alice@example.com/messages")).body.messages;
    expect(ids).toEqual(truth.map((m: { id: string }) => m.id));
    const dates = truth.map((m: { internalDate: string }) => Number(m.internalDate));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
  });

  it("hides spam and trash unless asked, filters by labels (AND), and omits messages when empty", async () => {
    const seeded = (await control(sim, "GET", "/accounts/alice@example.com/messages")).body.messages as {
      id: string;
    }[];
    await control(sim, "POST", `/accounts/alice@example.com/messages/${seeded[3]!.id}/labels`, {
      add: ["SPAM"],
    });
    await control(sim, "POST", `/accounts/alice@example.com/messages/${seeded[4]!.id}/labels`, {
      add: ["TRASH"],
    });
    const all = await alice.gmail.users.messages.list({ userId: "me", maxResults: 500 });
    expect(all.data.resultSizeEstimate).toBe(1198);
    const everything = await alice.gmail.users.messages.list({
      userId: "me",
      maxResults: 500,
      includeSpamTrash: true,
    });
    expect(everything.data.resultSizeEstimate).toBe(1200);
    const inboxUnread = await alice.gmail.users.messages.list({
      userId: "me",
      labelIds: ["INBOX", "UNREAD"],
      maxResults: 500,
    });
    const truth = (await control(sim, "GET", "/accounts/alice@example.com/messages")).body.messages as {
      id: string;
      labelIds: string[];
    }[];
    const expected = truth
      .filter((m) => m.labelIds.includes("INBOX") && m.labelIds.includes("UNREAD"))
      .filter((m) => !m.labelIds.includes("SPAM") && !m.labelIds.includes("TRASH"))
      .map((m) => m.id);
    expect(inboxUnread.data.messages!.map((m) => m.id)).toEqual(expected.slice(0, 500));
    const empty = await alice.gmail.users.messages.list({ userId: "me", labelIds: ["Label_999"] });
    expect(empty.data).toEqual({ resultSizeEstimate: 0 });
    const search = await alice.gmail.users.messages.list({
      userId: "me",
      q: "subject:#0042",
      includeSpamTrash: true,
    });
    expect(search.data.messages).toEqual([{ id: truth[42]!.id, threadId: expect.any(String) }]);
    const partial = await alice.gmail.users.messages.list({
      userId: "me",
      maxResults: 2,
      fields: "messages(id)",
    });
    expect(partial.data).toEqual({ messages: [{ id: expect.any(String) }, { id: expect.any(String) }] });
  });

  it("gets a message in every format", async () => {
    const { data: list } = await alice.gmail.users.messages.list({ userId: "me", maxResults: 1 });
    const id = list.messages![0]!.id!;
    const meta = await alice.gmail.users.messages.get({
      userId: "me",
      id,
      format: "metadata",
      metadataHeaders: ["From", "subject", "Date"],
    });
    expect(meta.data.payload!.headers!.map((h) => h.name)).toEqual(["Date", "Subject", "From"]);
    expect(meta.data.payload).toMatchObject({
      partId: "",
      mimeType: "multipart/alternative",
      filename: "",
      body: { size: 0 },
    });
    expect(meta.data.payload!.parts).toBeUndefined();
    expect(typeof meta.data.sizeEstimate).toBe("number");
    expect(meta.data.historyId).toMatch(/^\d+$/);
    expect(meta.data.internalDate).toMatch(/^\d+$/);
    const subject = meta.data.payload!.headers!.find((h) => h.name === "Subject")!.value!;
    expect(subject).toMatch(/#0000$/);
    const date = meta.data.payload!.headers!.find((h) => h.name === "Date")!.value!;
    expect(Date.parse(date)).toBe(Number(meta.data.internalDate));

    const minimal = await alice.gmail.users.messages.get({ userId: "me", id, format: "minimal" });
    expect(minimal.data.payload).toBeUndefined();
    expect(minimal.data.labelIds!.length).toBeGreaterThan(0);

    const full = await alice.gmail.users.messages.get({ userId: "me", id });
    const names = full.data.payload!.headers!.map((h) => h.name);
    expect(names).toEqual(expect.arrayContaining(["From", "To", "Subject", "Date", "Message-ID"]));
    const [text, html] = full.data.payload!.parts!;
    expect(text!.mimeType).toBe("text/plain");
    expect(Buffer.from(text!.body!.data!, "base64url").toString()).toContain("#0000");
    expect(Buffer.from(html!.body!.data!, "base64url").toString()).toContain("<div");

    const raw = await alice.gmail.users.messages.get({ userId: "me", id, format: "raw" });
    const rfc822 = Buffer.from(raw.data.raw!, "base64url").toString();
    expect(rfc822).toContain(`Subject: ${subject}\r\n`);
    expect(rfc822).toContain("To: Alice <alice@example.com>");
    expect(raw.data.sizeEstimate).toBe(Buffer.byteLength(rfc822));

    const missing = await failure(alice.gmail.users.messages.get({ userId: "me", id: "0000000000000000" }));
    expect(missing.status).toBe(404);
    expect(missing.data.error).toMatchObject({
      message: "Requested entity was not found.",
      status: "NOT_FOUND",
    });
    expect(missing.data.error.errors[0].reason).toBe("notFound");
  });

  it("lists labels with counts", async () => {
    const { data } = await alice.gmail.users.labels.list({ userId: "me" });
    const ids = data.labels!.map((l) => l.id);
    expect(ids).toEqual(
      expect.arrayContaining(["INBOX", "UNREAD", "SPAM", "TRASH", "CATEGORY_PERSONAL", "Label_1"]),
    );
    expect(data.labels!.find((l) => l.id === "Label_1")).toMatchObject({ type: "user", name: "Receipts" });
    const inbox = await alice.gmail.users.labels.get({ userId: "me", id: "INBOX" });
    expect(inbox.data.messagesTotal).toBeGreaterThan(900);
    expect(inbox.data.messagesUnread).toBeGreaterThan(0);
  });

  it("reports history of arrivals, deletions and label changes, with paging and expiry", async () => {
    const conn = await connect(sim, "bob@example.com");
    const gmail = conn.gmail;
    const start = (await gmail.users.getProfile({ userId: "me" })).data.historyId!;
    const noChange = await gmail.users.history.list({ userId: "me", startHistoryId: start });
    expect(noChange.data).toEqual({ historyId: start });

    const arrived = await control(sim, "POST", "/accounts/bob@example.com/messages", { count: 3 });
    expect(arrived.status).toBe(201);
    const [newest, , oldestNew] = arrived.body.ids as string[];
    const list = await gmail.users.messages.list({ userId: "me", maxResults: 3 });
    expect(list.data.messages!.map((m) => m.id)).toEqual(arrived.body.ids);
    expect((await control(sim, "DELETE", `/accounts/bob@example.com/messages/${oldestNew}`)).status).toBe(
      200,
    );
    const relabel = await control(sim, "POST", `/accounts/bob@example.com/messages/${newest}/labels`, {
      add: ["STARRED"],
      remove: ["UNREAD"],
    });
    expect(relabel.body.labelIds).toContain("STARRED");
    expect(relabel.body.labelIds).not.toContain("UNREAD");

    const records: gmail_v1.Schema$History[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    let current = "";
    do {
      const { data } = await gmail.users.history.list({
        userId: "me",
        startHistoryId: start,
        maxResults: 2,
        ...(pageToken ? { pageToken } : {}),
      });
      pages++;
      records.push(...(data.history ?? []));
      current = data.historyId!;
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(records).toHaveLength(6);
    expect(Number(current)).toBe(Number(start) + 6);
    expect(records.map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 5, 6].map((n) => Number(start) + n));
    expect(records.slice(0, 3).map((r) => r.messagesAdded![0]!.message!.id)).toEqual([
      oldestNew,
      arrived.body.ids[1],
      newest,
    ]);
    expect(records[0]!.messagesAdded![0]!.message!.labelIds).toContain("INBOX");
    expect(records[3]!.messagesDeleted).toEqual([{ message: { id: oldestNew, threadId: oldestNew } }]);
    expect(records[4]!.labelsAdded![0]).toMatchObject({ labelIds: ["STARRED"], message: { id: newest } });
    expect(records[5]!.labelsRemoved![0]!.labelIds).toEqual(["UNREAD"]);
    expect(records[5]!.labelsRemoved![0]!.message!.labelIds).not.toContain("UNREAD");
    expect(records[5]!.messages).toEqual([{ id: newest, threadId: newest }]);

    const onlyDeleted = await gmail.users.history.list({
      userId: "me",
      startHistoryId: start,
      historyTypes: ["messageDeleted"],
    });
    expect(onlyDeleted.data.history).toHaveLength(1);
    const gone = await failure(gmail.users.messages.get({ userId: "me", id: oldestNew! }));
    expect(gone.status).toBe(404);

    const missingStart = await fetch(`${sim.url}/gmail/v1/users/me/history`, {
      headers: { authorization: `Bearer ${conn.client.credentials.access_token}` },
    });
    expect(missingStart.status).toBe(400);
    expect(((await missingStart.json()) as { error: { status: string } }).error.status).toBe(
      "INVALID_ARGUMENT",
    );

    const future = await gmail.users.history.list({
      userId: "me",
      startHistoryId: String(Number(current) + 100),
    });
    expect(future.data).toEqual({ historyId: current });

    await control(sim, "POST", "/accounts/bob@example.com/expire-history");
    const tooOld = await failure(gmail.users.history.list({ userId: "me", startHistoryId: start }));
    expect(tooOld.status).toBe(404);
    expect(tooOld.data.error.errors[0].reason).toBe("notFound");
    const fresh = await gmail.users.history.list({ userId: "me", startHistoryId: current });
    expect(fresh.data).toEqual({ historyId: current });
  });

  it("answers unknown paths with Google's 404 JSON", async () => {
    const res = await fetch(`${sim.url}/gmail/v1/users/me/nonsense`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(404);
  });
});

describe("faults, quota and stats", () => {
  afterEach(async () => {
    await control(sim, "DELETE", "/faults");
    await control(sim, "DELETE", "/quota");
  });

  it("injects 500, 503, 429 and resets, and counts them", async () => {
    await control(sim, "DELETE", "/stats");
    const expectations: [Record<string, number>, number, string][] = [
      [{ rate500: 1 }, 500, "INTERNAL"],
      [{ rate503: 1 }, 503, "UNAVAILABLE"],
      [{ rate429: 1 }, 429, "RESOURCE_EXHAUSTED"],
    ];
    for (const [settings, status, googleStatus] of expectations) {
      expect((await control(sim, "PUT", "/faults", settings)).status).toBe(200);
      const error = await failure(alice.gmail.users.messages.list({ userId: "me" }));
      expect(error.status).toBe(status);
      expect(error.data.error.status).toBe(googleStatus);
    }
    await control(sim, "PUT", "/faults", { rateReset: 1 });
    const reset = await failure(alice.gmail.users.getProfile({ userId: "me" }));
    expect(reset.status).toBeUndefined();
    await control(sim, "PUT", "/faults", { latencyMs: 150 });
    const started = performance.now();
    await alice.gmail.users.getProfile({ userId: "me" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.faults).toEqual({ "429": 1, "500": 1, "503": 1, reset: 1 });
    expect(stats.calls["messages.list"]).toBe(3);
    expect(stats.calls["users.getProfile"]).toBe(2);
    expect(stats.calls["messages.get"]).toBe(0);

    const invalid = await control(sim, "PUT", "/faults", { rate500: 2 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe("invalid_request");
  });

  it("enforces per-user quota with Gmail's method costs", async () => {
    await control(sim, "DELETE", "/stats");
    await control(sim, "PUT", "/quota", { userUnitsPerSecond: 20 });
    const { data } = await alice.gmail.users.messages.list({ userId: "me", maxResults: 20 });
    const results = await Promise.allSettled(
      data.messages!.map((m) =>
        alice.gmail.users.messages.get({ userId: "me", id: m.id!, format: "minimal" }),
      ),
    );
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected.length).toBeGreaterThanOrEqual(15);
    const reason = (rejected[0] as PromiseRejectedResult).reason.response.data.error;
    expect(reason.code).toBe(429);
    expect(reason.errors[0].reason).toBe("userRateLimitExceeded");
    // Bob has his own bucket.
    const bob = await connect(sim, "bob@example.com");
    await bob.gmail.users.getProfile({ userId: "me" });
    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.rejected["messages.get"]).toBe(rejected.length);

    await control(sim, "PUT", "/quota", { projectUnitsPerSecond: 5 });
    await bob.gmail.users.messages.list({ userId: "me" });
    const project = await failure(alice.gmail.users.messages.list({ userId: "me" }));
    expect(project.status).toBe(429);
    expect(project.data.error.errors[0].reason).toBe("rateLimitExceeded");
  });
});

describe("control API", () => {
  it("creates a 100,000-message account and serves pages from it", async () => {
    const created = await control(sim, "POST", "/accounts", { email: "Big@Example.com", count: 100_000 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: "big@example.com", messagesTotal: 100_000 });
    const big = await connect(sim, "big@example.com");
    const first = await big.gmail.users.messages.list({ userId: "me", maxResults: 500 });
    expect(first.data.messages).toHaveLength(500);
    const second = await big.gmail.users.messages.list({
      userId: "me",
      maxResults: 500,
      pageToken: first.data.nextPageToken!,
    });
    expect(second.data.messages).toHaveLength(500);
    expect(new Set([...first.data.messages!, ...second.data.messages!].map((m) => m.id)).size).toBe(1000);
    const one = await big.gmail.users.messages.get({
      userId: "me",
      id: second.data.messages![0]!.id!,
      format: "full",
    });
    expect(one.data.payload!.headers!.length).toBeGreaterThan(4);
  });

  it("resets an account and revokes its grants", async () => {
    const conn = await connect(sim, "bob@example.com");
    const before = Number((await conn.gmail.users.getProfile({ userId: "me" })).data.historyId);
    const reset = await control(sim, "POST", "/accounts", { email: "bob@example.com", count: 5 });
    expect(reset.body.messagesTotal).toBe(5);
    expect(Number(reset.body.historyId)).toBeGreaterThan(before);
    expect((await failure(conn.gmail.users.getProfile({ userId: "me" }))).status).toBe(401);
  });

  it("answers errors in its own JSON shape", async () => {
    const unknown = await control(sim, "GET", "/accounts/nobody@example.com");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("account_not_found");
    const bad = await control(sim, "POST", "/accounts", { email: "not-an-email", count: 1 });
    expect(bad.status).toBe(400);
    const noMessage = await control(sim, "DELETE", "/accounts/alice@example.com/messages/nope");
    expect(noMessage.status).toBe(404);
    expect(noMessage.body.error.code).toBe("message_not_found");
    const route = await control(sim, "GET", "/nothing");
    expect(route.status).toBe(404);
  });
});
