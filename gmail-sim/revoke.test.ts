import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "./server";

/** Google's revocation endpoint as the app uses it when a person disconnects Gmail or leaves. */
describe("simulator: token revocation", () => {
  let sim: GmailSimulator;
  const redirectUri = "http://127.0.0.1:9/cb";

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "leaver@example.com", count: 3 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  async function grant(): Promise<{ access_token: string; refresh_token: string }> {
    const auth = new URL(`${sim.url}/o/oauth2/v2/auth`);
    for (const [k, v] of Object.entries({
      client_id: "revoke-test",
      redirect_uri: redirectUri,
      login_hint: "leaver@example.com",
      access_type: "offline",
      prompt: "consent",
      scope: "https://www.googleapis.com/auth/gmail.readonly",
    }))
      auth.searchParams.set(k, v);
    const consent = await fetch(auth, { redirect: "manual" });
    const code = new URL(consent.headers.get("location")!).searchParams.get("code")!;
    const res = await fetch(`${sim.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        client_id: "revoke-test",
        client_secret: "s",
        redirect_uri: redirectUri,
      }),
    });
    return res.json();
  }

  const revoke = (token: string) =>
    fetch(`${sim.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
    });

  it("revokes the whole grant by its refresh token sent as a form body, and records it", async () => {
    await fetch(`${sim.url}/sim/stats`, { method: "DELETE" });
    const tokens = await grant();
    const res = await revoke(tokens.refresh_token);
    expect(res.status).toBe(200);

    const stats = await (await fetch(`${sim.url}/sim/stats`)).json();
    expect(stats.revocations).toEqual([
      expect.objectContaining({
        email: "leaver@example.com",
        clientId: "revoke-test",
        tokenType: "refresh_token",
        inBody: true,
      }),
    ]);
    expect(stats.calls["oauth.revoke"]).toBe(1);

    // The refresh token and the grant's access token are both dead now.
    const refresh = await fetch(`${sim.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
        client_id: "revoke-test",
      }),
    });
    expect(refresh.status).toBe(400);
    expect((await refresh.json()).error).toBe("invalid_grant");
    const api = await fetch(`${sim.url}/gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(api.status).toBe(401);
  });

  it("answers 400 invalid_token for a token it no longer knows, and records nothing", async () => {
    await fetch(`${sim.url}/sim/stats`, { method: "DELETE" });
    const tokens = await grant();
    expect((await revoke(tokens.access_token)).status).toBe(200);
    const again = await revoke(tokens.refresh_token);
    expect(again.status).toBe(400);
    expect((await again.json()).error).toBe("invalid_token");
    const stats = await (await fetch(`${sim.url}/sim/stats`)).json();
    expect(stats.revocations.map((r: { tokenType: string }) => r.tokenType)).toEqual(["access_token"]);
  });
});
