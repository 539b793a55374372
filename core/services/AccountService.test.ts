import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, waitForTask } from "../../test/stack";
import { GmailAccount, User } from "../db/models";
import { TokenCipher } from "../gmail/TokenCipher";

describe("AccountService: the Gmail grant over time", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Access tokens live one second, so every sync must refresh through the token endpoint.
    stack = await startStack({ sim: { accessTokenLifetimeSeconds: 1 } });
  });
  afterAll(() => stack?.close());

  const storedTokens = async (email: string) => {
    const user = await User.findOne({ where: { email } });
    const account = await GmailAccount.findOne({ where: { userId: user!.id } });
    return new TokenCipher(stack.config.tokenEncryptionKey).decrypt(account!.encryptedTokens, user!.id);
  };

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
