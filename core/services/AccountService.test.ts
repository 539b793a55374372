import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";
import { GmailAccount, User } from "../db/models";
import { TokenCipher } from "../gmail/TokenCipher";

/** The token set we keep for `email`, decrypted. */
async function storedTokensOf(stack: Stack, email: string) {
  const user = await User.findOne({ where: { email } });
  const account = await GmailAccount.findOne({ where: { userId: user!.id } });
  return new TokenCipher(stack.config.tokenEncryptionKey).decrypt(account!.encryptedTokens, user!.id);
}

describe("AccountService: the Gmail grant over time", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Access tokens live one second, so every sync must refresh through the token endpoint.
    stack = await startStack({ sim: { accessTokenLifetimeSeconds: 1 } });
  });
  afterAll(() => stack?.close());

  const storedTokens = (email: string) => storedTokensOf(stack, email);

  it("refreshes an expired access token, keeps the refresh token and stores the new one encrypted", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "refresh@example.com", count: 40 });
    const user = await stack.signIn("refresh@example.com");
    const before = await storedTokens("refresh@example.com");
    expect(before.refresh_token).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1_200));
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
    const user = await User.findOne({ where: { email: "returning@example.com" } });
    await GmailAccount.update(
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
