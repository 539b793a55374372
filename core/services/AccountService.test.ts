import { spawn } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";
import { keyId, type StoredTokens, TokenCipher } from "../gmail/TokenCipher";

/** The token set we keep for `email`, decrypted. */
async function storedTokensOf(stack: Stack, email: string) {
  const user = await stack.web.ctx.models.User.findOne({ where: { email } });
  const account = await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: user!.id } });
  return new TokenCipher(stack.config.tokenEncryptionKey).decrypt(account!.encryptedTokens, user!.id);
}

describe("AccountService: the Gmail grant over time", () => {
  let stack: Stack;
  /** How far Google's clock (the simulator's) runs ahead of the real one: moved, never slept. */
  let aheadMs = 0;
  beforeAll(async () => {
    // Access tokens live one second, so every sync must refresh through the token endpoint.
    stack = await startStack({ sim: { accessTokenLifetimeSeconds: 1, now: () => Date.now() + aheadMs } });
  });
  afterAll(() => stack?.close());

  const storedTokens = (email: string) => storedTokensOf(stack, email);

  it("refreshes an expired access token, keeps the refresh token and stores the new one encrypted", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "refresh@example.com", count: 40 });
    const user = await stack.signIn("refresh@example.com");
    const before = await storedTokens("refresh@example.com");
    expect(before.refresh_token).toBeTruthy();
    // The stored access token is now dead at Google: only a refresh lets the sync through.
    aheadMs += 1_200;
    const stale = await fetch(`${stack.sim.url}/gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${before.access_token}` },
    });
    expect(stale.status).toBe(401);
    await stack.simControl("DELETE", "/sim/stats");

    const { body } = await user.json("POST", "/api/emails/sync");
    const { final } = await waitForTask(user, body.taskId);
    expect(final).toMatchObject({ state: "completed", result: { added: 40 } });
    expect((await stack.simControl("GET", "/sim/stats")).calls["oauth.refresh"]).toBeGreaterThanOrEqual(1);

    const after = await storedTokens("refresh@example.com");
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.refresh_token).toBe(before.refresh_token);
    expect(after.expiry_date).toBeGreaterThan(before.expiry_date ?? 0);
  });

  it("signing in again after a revocation reconnects the account", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "again@example.com", count: 10 });
    const first = await stack.signIn("again@example.com");
    await stack.simControl("POST", "/sim/accounts/again@example.com/revoke");
    const failed = await waitForTask(first, (await first.json("POST", "/api/emails/sync")).body.taskId);
    expect(failed.final.error.code).toBe("reauth_required");

    const second = await stack.signIn("again@example.com");
    expect((await second.json("GET", "/api/me")).body.gmailStatus).toBe("connected");
    const ok = await waitForTask(second, (await second.json("POST", "/api/emails/sync")).body.taskId);
    expect(ok.final).toMatchObject({ state: "completed", result: { added: 10 } });
  });
});

describe("AccountService: refresh tokens across sign-ins", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  const storedTokens = (email: string) => storedTokensOf(stack, email);

  it("asks Google for consent again only when it holds no refresh token for the account", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "returning@example.com", count: 1 });
    const consentPrompts = async (client: ApiClient) => {
      // Walk the flow by hand to see each URL the browser is sent to.
      const prompts: string[] = [];
      let res = await client.raw("GET", "/auth/google?login_hint=returning%40example.com");
      for (let hop = 0; hop < 8 && res.status === 302; hop++) {
        const next = new URL(res.headers.get("location")!, client.baseUrl).toString();
        if (next.startsWith(stack.sim.url)) prompts.push(new URL(next).searchParams.get("prompt") ?? "none");
        if (next === `${client.baseUrl}/`) break;
        res = next.startsWith(client.baseUrl)
          ? await client.raw("GET", next)
          : await fetch(next, { redirect: "manual" });
      }
      expect((await client.json("GET", "/api/me")).status).toBe(200);
      return prompts;
    };

    // First sign-in: Google sends a refresh token without being asked to prompt.
    expect(await consentPrompts(new ApiClient(stack.web.url))).toEqual(["none"]);
    const first = await storedTokens("returning@example.com");
    expect(first.refresh_token).toBeTruthy();
    // A returning user: no refresh token comes, the stored one is kept, no consent screen.
    expect(await consentPrompts(new ApiClient(stack.web.url))).toEqual(["none"]);
    expect((await storedTokens("returning@example.com")).refresh_token).toBe(first.refresh_token);

    // We lost the refresh token (say, a restore from an old backup): one extra round with consent.
    const user = await stack.web.ctx.models.User.findOne({ where: { email: "returning@example.com" } });
    await stack.web.ctx.models.GmailAccount.update(
      {
        encryptedTokens: new TokenCipher(stack.config.tokenEncryptionKey).encrypt(
          { access_token: "x" },
          user!.id,
        ),
      },
      { where: { userId: user!.id } },
    );
    expect(await consentPrompts(new ApiClient(stack.web.url))).toEqual(["none", "consent"]);
    const healed = await storedTokens("returning@example.com");
    expect(healed.refresh_token).toBeTruthy();
    expect(healed.refresh_token).not.toBe(first.refresh_token);
  });
});

describe("AccountService: rotating the token key", () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        TOKEN_ENCRYPTION_KEY: newKey.toString("hex"),
        TOKEN_ENCRYPTION_KEYS_OLD: oldKey.toString("hex"),
      },
    });
  });
  afterAll(() => stack?.close());

  const rowOf = async (email: string) => {
    const user = (await stack.web.ctx.models.User.findOne({ where: { email } }))!;
    return (await stack.web.ctx.models.GmailAccount.findOne({ where: { userId: user.id } }))!;
  };
  /** Signs `email` in, then seals its tokens as `seal` would have. */
  const signedInUnder = async (email: string, seal: (tokens: StoredTokens, userId: string) => string) => {
    await stack.simControl("POST", "/sim/accounts", { email, count: 5 });
    const client = await stack.signIn(email);
    const row = await rowOf(email);
    const tokens = new TokenCipher(newKey).decrypt(row.encryptedTokens, row.userId);
    await row.update({ encryptedTokens: seal(tokens, row.userId) });
    return { client, tokens };
  };
  const legacySeal = (key: Buffer) => (tokens: StoredTokens, userId: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(userId));
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens)), cipher.final()]);
    return ["v1", ...[iv, cipher.getAuthTag(), body].map((p) => p.toString("base64url"))].join(".");
  };

  it("syncs with tokens an old key sealed and seals them again with the current key", async () => {
    const { client, tokens } = await signedInUnder("rotate-sync@example.com", (t, id) =>
      new TokenCipher(oldKey).encrypt(t, id),
    );
    expect((await rowOf("rotate-sync@example.com")).encryptedTokens.split(".")[1]).toBe(keyId(oldKey));

    const { final } = await waitForTask(client, (await client.json("POST", "/api/emails/sync")).body.taskId);
    expect(final).toMatchObject({ state: "completed", result: { added: 5 } });
    const after = await rowOf("rotate-sync@example.com");
    expect(after.encryptedTokens.split(".")[1]).toBe(keyId(newKey));
    // Only the current key is needed from now on.
    expect(new TokenCipher(newKey).decrypt(after.encryptedTokens, after.userId).refresh_token).toBe(
      tokens.refresh_token,
    );
  });

  it("npm run rotate-keys seals every old row again, counts what no key opens, and can run twice", async () => {
    await signedInUnder("rotate-old@example.com", (t, id) => new TokenCipher(oldKey).encrypt(t, id));
    await signedInUnder("rotate-v1@example.com", legacySeal(oldKey));
    await signedInUnder("rotate-lost@example.com", (t, id) =>
      new TokenCipher(randomBytes(32)).encrypt(t, id),
    );
    const current = (await rowOf("rotate-sync@example.com")).encryptedTokens;

    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "scripts/rotate-keys.ts"], {
          env: {
            PATH: process.env.PATH,
            DATA_DIR: ".data/test",
            DATABASE_URL: stack.config.databaseUrl,
            TOKEN_ENCRYPTION_KEY: newKey.toString("base64"),
            TOKEN_ENCRYPTION_KEYS_OLD: oldKey.toString("hex"),
          },
        });
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
        });
        child.stderr.on("data", (chunk) => {
          out += chunk;
        });
        child.on("exit", (code) => resolve({ code, out }));
      });

    // Rows of other tests in this database are under other keys: "no key opens" counts them too.
    const first = await run();
    expect(first.code).toBe(0);
    const [, resealed, unreadable] = first.out.match(/(\d+) token set\(s\) sealed again, (\d+) that no/)!;
    expect(Number(resealed)).toBe(2);
    expect(Number(unreadable)).toBeGreaterThanOrEqual(1);

    const fresh = new TokenCipher(newKey);
    for (const email of ["rotate-old@example.com", "rotate-v1@example.com"]) {
      const row = await rowOf(email);
      expect(row.encryptedTokens.startsWith(`v2.${keyId(newKey)}.`)).toBe(true);
      expect(fresh.decrypt(row.encryptedTokens, row.userId).refresh_token).toBeTruthy();
    }
    const lost = await rowOf("rotate-lost@example.com");
    expect(fresh.isStale(lost.encryptedTokens)).toBe(true);
    expect((await rowOf("rotate-sync@example.com")).encryptedTokens).toBe(current);

    const second = await run();
    expect(second.out).toMatch(/ 0 token set\(s\) sealed again, /);
  });

  it("signing in again repairs tokens no configured key opens", async () => {
    await stack.simControl("POST", "/sim/accounts/rotate-lost@example.com/revoke");
    await stack.signIn("rotate-lost@example.com");
    const row = await rowOf("rotate-lost@example.com");
    expect(new TokenCipher(newKey).decrypt(row.encryptedTokens, row.userId).refresh_token).toBeTruthy();
  });
});
