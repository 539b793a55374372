/**
 * Sign-in hardening, end to end against the simulator: PKCE binds the code to the browser that
 * started the sign-in, the user is Google's account id (`sub`) from a verified ID token, the
 * granted scopes are checked, and a grant Google stopped honouring is renewed through consent.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { parse as parseCookies } from "cookie";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenCipher } from "../../core/gmail/TokenCipher";
import { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack } from "../../test/stack";

const GMAIL = "https://www.googleapis.com/auth/gmail.readonly";
const asJson = { headers: { accept: "application/json" } };

/** Follows one sign-in as a browser would, noting each visit to Google (the simulator). */
async function walk(stack: Stack, client: ApiClient, start: string) {
  const google: URL[] = [];
  let res = await client.raw("GET", start);
  for (let hop = 0; hop < 8 && res.status === 302; hop++) {
    const next = new URL(res.headers.get("location")!, client.baseUrl);
    if (next.toString() === `${client.baseUrl}/`) break;
    if (next.toString().startsWith(stack.sim.url)) google.push(next);
    res = next.toString().startsWith(client.baseUrl)
      ? await client.raw("GET", next.toString(), asJson)
      : await fetch(next, { redirect: "manual" });
  }
  return { google, prompts: google.map((u) => u.searchParams.get("prompt") ?? "none"), res };
}

/** The sign-in up to Google's redirect back: the callback URL the browser is sent to. */
async function callbackUrlFor(stack: Stack, client: ApiClient, email: string, scope?: string) {
  const start = await client.raw("GET", `/auth/google?login_hint=${encodeURIComponent(email)}`);
  const consent = new URL(start.headers.get("location")!);
  if (scope) consent.searchParams.set("scope", scope);
  expect(consent.toString().startsWith(stack.sim.url)).toBe(true);
  const back = await fetch(consent, { redirect: "manual" });
  return { consent, callback: new URL(back.headers.get("location")!) };
}

const subOf = async (stack: Stack, email: string) =>
  (await stack.simControl("GET", `/sim/accounts/${encodeURIComponent(email)}`)).sub as string;

describe("sign-in: PKCE, Google's account id, scopes and consent", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
  });
  afterAll(() => stack?.close());

  describe("PKCE", () => {
    it("sends an S256 challenge of the verifier that stays in this browser's cookie", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "pkce@example.com", count: 1 });
      const client = new ApiClient(stack.web.url);
      const { consent } = await callbackUrlFor(stack, client, "pkce@example.com");
      const verifier = parseCookies(client.cookieHeader).oauth_pkce!;
      expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
      expect(consent.searchParams.get("code_challenge_method")).toBe("S256");
      expect(consent.searchParams.get("code_challenge")).toBe(
        createHash("sha256").update(verifier).digest("base64url"),
      );
      expect(consent.toString()).not.toContain(verifier);
    });

    it("makes a code worthless in any other browser: another browser's exchange fails, the right one succeeds", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "victim@example.com", count: 1 });
      const victim = new ApiClient(stack.web.url);
      const { callback } = await callbackUrlFor(stack, victim, "victim@example.com");
      const stolenCode = callback.searchParams.get("code")!;

      // The attacker starts a sign-in of their own (their state and verifier) and swaps in the code.
      const attacker = new ApiClient(stack.web.url);
      const own = new URL(
        (await attacker.raw("GET", "/auth/google?login_hint=victim%40example.com")).headers.get("location")!,
      );
      const swapped = new URL(callback);
      swapped.searchParams.set("state", own.searchParams.get("state")!);
      swapped.searchParams.set("code", stolenCode);
      const refused = await attacker.raw("GET", swapped.toString(), asJson);
      expect(refused.status).toBe(400);
      expect((await refused.json()).error.code).toBe("oauth_exchange_failed");
      expect((await attacker.json("GET", "/api/me")).status).toBe(401);

      const accepted = await victim.raw("GET", callback.toString(), asJson);
      expect(accepted.status).toBe(302);
      expect(accepted.headers.get("location")).toBe("/");
      expect((await victim.json("GET", "/api/me")).body.email).toBe("victim@example.com");
    });

    it("refuses a callback whose browser holds no verifier", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "noverifier@example.com", count: 1 });
      const client = new ApiClient(stack.web.url);
      const { callback } = await callbackUrlFor(stack, client, "noverifier@example.com");
      const state = parseCookies(client.cookieHeader).oauth_state!;
      const res = await fetch(callback, {
        headers: { cookie: `oauth_state=${state}`, accept: "application/json" },
      });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("oauth_state_mismatch");
    });
  });

  describe("scopes", () => {
    it("asks for openid, email and gmail.readonly, offline", async () => {
      const start = await new ApiClient(stack.web.url).raw("GET", "/auth/google");
      const consent = new URL(start.headers.get("location")!);
      expect(consent.searchParams.get("scope")!.split(" ").sort()).toEqual(["email", GMAIL, "openid"].sort());
      expect(consent.searchParams.get("access_type")).toBe("offline");
    });

    it("refuses a grant without gmail.readonly from the granted scopes, before any Gmail call", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "partial@example.com", count: 1 });
      const client = new ApiClient(stack.web.url);
      const { callback } = await callbackUrlFor(stack, client, "partial@example.com", "openid email");
      await stack.simControl("DELETE", "/sim/stats");
      const res = await client.raw("GET", callback.toString(), asJson);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("gmail_scope_missing");
      const { calls } = await stack.simControl("GET", "/sim/stats");
      expect(calls["oauth.exchange"]).toBe(1);
      expect(calls["users.getProfile"] ?? 0).toBe(0);
      expect(await stack.web.ctx.models.User.count({ where: { email: "partial@example.com" } })).toBe(0);
    });

    it("sends a browser back to the app with the reason", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "partial2@example.com", count: 1 });
      const client = new ApiClient(stack.web.url);
      const { callback } = await callbackUrlFor(
        stack,
        client,
        "partial2@example.com",
        `openid email ${GMAIL}x`,
      );
      const res = await client.raw("GET", callback.toString(), { headers: { accept: "text/html" } });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/?auth_error=gmail_scope_missing");
    });
  });

  describe("the user is Google's account id", () => {
    it("keeps the sub of the verified ID token", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "Sub@Example.com", count: 1 });
      await stack.signIn("sub@example.com");
      const user = await stack.web.ctx.models.User.findOne({ where: { email: "sub@example.com" } });
      expect(user!.googleSub).toBe(await subOf(stack, "sub@example.com"));
    });

    it("ties a user from before ids to their sub at their next sign-in, keeping their data", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "legacy@example.com", count: 1 });
      const legacy = await stack.web.ctx.models.User.create({ email: "legacy@example.com" });
      // Their tokens as the first release sealed them (v1, no key id): still readable.
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", stack.config.tokenEncryptionKey, iv);
      cipher.setAAD(Buffer.from(legacy.id));
      const body = Buffer.concat([
        cipher.update(JSON.stringify({ refresh_token: "1//old" })),
        cipher.final(),
      ]);
      await stack.web.ctx.models.GmailAccount.create({
        userId: legacy.id,
        email: "legacy@example.com",
        encryptedTokens: ["v1", iv, cipher.getAuthTag(), body]
          .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
          .join("."),
        historyId: "123",
      });

      const { prompts } = await walk(
        stack,
        new ApiClient(stack.web.url),
        "/auth/google?login_hint=legacy%40example.com",
      );
      expect(prompts).toEqual(["none"]);
      const after = await stack.web.ctx.models.User.findAll({ where: { email: "legacy@example.com" } });
      expect(after.map((u) => u.id)).toEqual([legacy.id]);
      expect(after[0]!.googleSub).toBe(await subOf(stack, "legacy@example.com"));
      const account = await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: legacy.id } });
      expect(account!.historyId).toBe("123");
      expect(new TokenCipher(stack.config.tokenEncryptionKey).isStale(account!.encryptedTokens)).toBe(false);
    });

    it("follows an address change at Google: the same user, with the new address", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "before@example.com", count: 1 });
      const first = await stack.signIn("before@example.com");
      const { id } = (await stack.web.ctx.models.User.findOne({ where: { email: "before@example.com" } }))!;
      const sub = await subOf(stack, "before@example.com");

      await stack.simControl("DELETE", "/sim/accounts/before@example.com");
      await stack.simControl("POST", "/sim/accounts", { email: "after@example.com", count: 1, sub });
      const again = await stack.signIn("after@example.com");
      const me = (await again.json("GET", "/api/me")).body;
      expect(me.email).toBe("after@example.com");
      const users = await stack.web.ctx.models.User.findAll({ where: { googleSub: sub } });
      expect(users.map((u) => [u.id, u.email])).toEqual([[id, "after@example.com"]]);
      expect((await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: id } }))!.email).toBe(
        "after@example.com",
      );
      expect(await stack.web.ctx.models.User.count({ where: { email: "before@example.com" } })).toBe(0);
      expect((await first.json("GET", "/api/me")).body.email).toBe("after@example.com");
    });

    it("never gives a known user to another Google account that now has their address", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "recycled@example.com", count: 1 });
      const original = await stack.signIn("recycled@example.com");
      const owner = (await stack.web.ctx.models.User.findOne({ where: { email: "recycled@example.com" } }))!;
      const ownerTokens = (await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: owner.id } }))!
        .encryptedTokens;

      // The domain gives the address to somebody new: another Google account, another sub.
      await stack.simControl("POST", "/sim/accounts", {
        email: "recycled@example.com",
        count: 1,
        sub: "109999999999999999999",
      });
      const newcomer = await stack.signIn("recycled@example.com");
      const users = await stack.web.ctx.models.User.findAll({
        where: { email: "recycled@example.com" },
        order: [["createdAt", "ASC"]],
      });
      expect(users.map((u) => u.googleSub)).toEqual([owner.googleSub, "109999999999999999999"]);
      expect(users[0]!.id).toBe(owner.id);
      // The original user's grant is theirs still; the newcomer's session is not theirs.
      expect(
        (await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: owner.id } }))!.encryptedTokens,
      ).toBe(ownerTokens);
      const newcomerMe = await newcomer.json("GET", "/api/me");
      const originalMe = await original.json("GET", "/api/me");
      expect(newcomerMe.status).toBe(200);
      expect(newcomerMe.body.csrfToken).not.toBe(originalMe.body.csrfToken);
      const sessionUser = async (client: ApiClient) =>
        (await client.json("POST", "/api/tokens", { name: "who" })).body.id as string;
      expect(await sessionUser(newcomer)).not.toBe(await sessionUser(original));
    });
  });

  describe("consent", () => {
    const markReauth = async (email: string) => {
      const user = (await stack.web.ctx.models.User.findOne({ where: { email } }))!;
      await stack.web.ctx.accounts.markReauthRequired(user.id);
      return user;
    };
    const refreshTokenOf = async (userId: string) =>
      new TokenCipher(stack.config.tokenEncryptionKey).decrypt(
        (await stack.web.ctx.models.GmailAccount.findOne({ where: { userId } }))!.encryptedTokens,
        userId,
      ).refresh_token;

    it("is forced when the stored grant is reauth_required, though Google still sees it live", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "stale@example.com", count: 1 });
      const start = "/auth/google?login_hint=stale%40example.com";
      expect((await walk(stack, new ApiClient(stack.web.url), start)).prompts).toEqual(["none"]);
      // A returning user with a good grant: no consent screen.
      expect((await walk(stack, new ApiClient(stack.web.url), start)).prompts).toEqual(["none"]);

      // The worker met invalid_grant (say, Google's per-client refresh-token limit). Google still
      // counts the grant as live, so a plain sign-in brings no refresh token: consent must.
      const user = await markReauth("stale@example.com");
      const before = await refreshTokenOf(user.id);
      const browser = new ApiClient(stack.web.url);
      expect((await walk(stack, browser, start)).prompts).toEqual(["none", "consent"]);
      expect((await browser.json("GET", "/api/me")).body.gmailStatus).toBe("connected");
      expect(await refreshTokenOf(user.id)).not.toBe(before);
    });

    it("is asked at once when the signed-in browser reconnects a reauth_required grant", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "reconnect@example.com", count: 1 });
      const browser = await stack.signIn("reconnect@example.com");
      const user = await markReauth("reconnect@example.com");
      const before = await refreshTokenOf(user.id);
      expect((await browser.json("GET", "/api/me")).body.gmailStatus).toBe("reauth_required");

      const { prompts } = await walk(stack, browser, "/auth/google?login_hint=reconnect%40example.com");
      expect(prompts).toEqual(["consent"]);
      expect((await browser.json("GET", "/api/me")).body.gmailStatus).toBe("connected");
      expect(await refreshTokenOf(user.id)).not.toBe(before);
    });

    it("is not forced for a signed-in browser whose grant is fine", async () => {
      await stack.simControl("POST", "/sim/accounts", { email: "fine@example.com", count: 1 });
      const browser = await stack.signIn("fine@example.com");
      expect((await walk(stack, browser, "/auth/google?login_hint=fine%40example.com")).prompts).toEqual([
        "none",
      ]);
    });
  });
});

describe("sign-in refuses ID tokens it cannot trust", () => {
  it("from an issuer other than the configured one", async () => {
    const stack = await startStack({ workers: 0, env: { GOOGLE_ISSUER: "https://accounts.google.com" } });
    try {
      await stack.simControl("POST", "/sim/accounts", { email: "iss@example.com", count: 1 });
      const client = new ApiClient(stack.web.url);
      const { res } = await walk(stack, client, "/auth/google?login_hint=iss%40example.com");
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("oauth_identity_invalid");
      expect((await client.json("GET", "/api/me")).status).toBe(401);
      expect(await stack.web.ctx.models.User.count({ where: { email: "iss@example.com" } })).toBe(0);
    } finally {
      await stack.close();
    }
  });

  it("and says Google is unavailable when its certificates cannot be fetched", async () => {
    const stack = await startStack({
      workers: 0,
      env: { GOOGLE_CERTS_URL: "http://127.0.0.1:9/oauth2/v1/certs" },
    });
    try {
      await stack.simControl("POST", "/sim/accounts", { email: "certs@example.com", count: 1 });
      const { res } = await walk(
        stack,
        new ApiClient(stack.web.url),
        "/auth/google?login_hint=certs%40example.com",
      );
      expect(res.status).toBe(502);
      expect((await res.json()).error.code).toBe("google_unavailable");
    } finally {
      await stack.close();
    }
  });
});
