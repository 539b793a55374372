/**
 * The simulator's PKCE and OpenID Connect, checked with google-auth-library as an app uses it
 * against Google: the code verifier on the exchange, ID tokens verified against the published
 * keys, and the stable account id across address changes.
 */
import { createPublicKey, createVerify, X509Certificate } from "node:crypto";
import { CodeChallengeMethod, OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "./server";

type Json = any;

const GMAIL = "https://www.googleapis.com/auth/gmail.readonly";
const REDIRECT = "http://127.0.0.1:3999/auth/google/callback";
const CLIENT_ID = "oidc-test-client";

function oauthClient(url: string): OAuth2Client {
  return new OAuth2Client({
    clientId: CLIENT_ID,
    clientSecret: "oidc-test-secret",
    redirectUri: REDIRECT,
    issuers: [url],
    endpoints: {
      oauth2AuthBaseUrl: `${url}/o/oauth2/v2/auth`,
      oauth2TokenUrl: `${url}/token`,
      oauth2RevokeUrl: `${url}/revoke`,
      oauth2FederatedSignonPemCertsUrl: `${url}/oauth2/v1/certs`,
      oauth2FederatedSignonJwkCertsUrl: `${url}/oauth2/v3/certs`,
    },
  });
}

/** Consents as `email` and answers the authorization code (or the error page's status). */
async function codeFor(authUrl: string): Promise<string> {
  const res = await fetch(authUrl, { redirect: "manual" });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get("location")!).searchParams.get("code")!;
}

async function tokenRequest(url: string, fields: Record<string, string>) {
  const res = await fetch(`${url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: CLIENT_ID,
      client_secret: "oidc-test-secret",
      redirect_uri: REDIRECT,
      grant_type: "authorization_code",
      ...fields,
    }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

function claimsOf(idToken: string): Json {
  return JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString("utf8"));
}

describe("gmail-sim: PKCE and OpenID Connect", () => {
  let sim: GmailSimulator;
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/sim${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "pat@example.com", count: 3 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  describe("PKCE (RFC 7636)", () => {
    const s256Code = async (client: OAuth2Client) => {
      const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
      const code = await codeFor(
        client.generateAuthUrl({
          scope: [GMAIL],
          login_hint: "pat@example.com",
          code_challenge: codeChallenge!,
          code_challenge_method: CodeChallengeMethod.S256,
        }),
      );
      return { code, codeVerifier };
    };

    it("exchanges a code issued for an S256 challenge only with its verifier", async () => {
      const client = oauthClient(sim.url);
      const { code, codeVerifier } = await s256Code(client);

      const missing = await tokenRequest(sim.url, { code });
      expect(missing).toEqual({
        status: 400,
        body: { error: "invalid_grant", error_description: "Missing code verifier." },
      });
      const other = (await client.generateCodeVerifierAsync()).codeVerifier;
      const wrong = await tokenRequest(sim.url, { code, code_verifier: other });
      expect(wrong).toEqual({
        status: 400,
        body: { error: "invalid_grant", error_description: "Invalid code verifier." },
      });
      const { tokens } = await client.getToken({ code, codeVerifier });
      expect(tokens.access_token).toMatch(/^ya29\./);
    });

    it("refuses google-auth-library's exchange without the verifier, as invalid_grant", async () => {
      const client = oauthClient(sim.url);
      const { code } = await s256Code(client);
      await expect(client.getToken(code)).rejects.toMatchObject({
        response: { status: 400, data: { error: "invalid_grant" } },
      });
    });

    it("refuses a verifier that is not 43–128 unreserved characters, even if it hashes right", async () => {
      const short = "abc";
      const challenge = (await import("node:crypto")).createHash("sha256").update(short).digest("base64url");
      const client = oauthClient(sim.url);
      const code = await codeFor(
        client.generateAuthUrl({
          scope: [GMAIL],
          login_hint: "pat@example.com",
          code_challenge: challenge,
          code_challenge_method: CodeChallengeMethod.S256,
        }),
      );
      expect((await tokenRequest(sim.url, { code, code_verifier: short })).body.error).toBe("invalid_grant");
    });

    it("answers a malformed code_challenge with Google's 400 error page", async () => {
      const client = oauthClient(sim.url);
      const url = client.generateAuthUrl({
        scope: [GMAIL],
        login_hint: "pat@example.com",
        code_challenge: "too-short",
        code_challenge_method: CodeChallengeMethod.S256,
      });
      const res = await fetch(url, { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("Invalid code_challenge.");
    });
  });

  describe("ID tokens", () => {
    const signIn = async (client: OAuth2Client, email: string, scope = ["openid", "email", GMAIL]) => {
      const code = await codeFor(client.generateAuthUrl({ scope, login_hint: email, nonce: "n-1" }));
      return (await client.getToken(code)).tokens;
    };

    it("come with an openid grant, verify against the published certificates and name the account", async () => {
      const client = oauthClient(sim.url);
      const tokens = await signIn(client, "pat@example.com");
      expect(tokens.id_token).toBeTruthy();
      // Google answers the short `email` scope with its full URL.
      expect(tokens.scope!.split(" ").sort()).toEqual(
        [GMAIL, "https://www.googleapis.com/auth/userinfo.email", "openid"].sort(),
      );

      const ticket = await client.verifyIdToken({ idToken: tokens.id_token!, audience: CLIENT_ID });
      const payload = ticket.getPayload()!;
      const { body: account } = await control("GET", "/accounts/pat@example.com");
      expect(account.sub).toMatch(/^1\d{20}$/);
      expect(payload).toMatchObject({
        iss: sim.url,
        aud: CLIENT_ID,
        azp: CLIENT_ID,
        sub: account.sub,
        email: "pat@example.com",
        email_verified: true,
        nonce: "n-1",
      });
      expect(payload.exp - payload.iat).toBe(3600);
    });

    it("are refused by a client that expects another audience or issuer", async () => {
      const client = oauthClient(sim.url);
      const { id_token } = await signIn(client, "pat@example.com");
      await expect(client.verifyIdToken({ idToken: id_token!, audience: "someone-else" })).rejects.toThrow(
        /Wrong recipient/,
      );
      const google = new OAuth2Client({
        clientId: CLIENT_ID,
        endpoints: { oauth2FederatedSignonPemCertsUrl: `${sim.url}/oauth2/v1/certs` },
      });
      await expect(google.verifyIdToken({ idToken: id_token!, audience: CLIENT_ID })).rejects.toThrow(
        /Invalid issuer/,
      );
    });

    it("publish one key as a JWK set and as an X.509 certificate, cacheable as Google's are", async () => {
      const { id_token } = await signIn(oauthClient(sim.url), "pat@example.com");
      const [header, payload, signature] = id_token!.split(".");
      const { kid, alg } = JSON.parse(Buffer.from(header!, "base64url").toString());
      expect(alg).toBe("RS256");

      const jwksRes = await fetch(`${sim.url}/oauth2/v3/certs`);
      expect(jwksRes.headers.get("cache-control")).toMatch(/max-age=\d+/);
      const { keys } = (await jwksRes.json()) as Json;
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kid, kty: "RSA", alg: "RS256", use: "sig" });
      const fromJwk = createPublicKey({ key: keys[0], format: "jwk" });
      const verify = () => createVerify("RSA-SHA256").update(`${header}.${payload}`);
      expect(verify().verify(fromJwk, Buffer.from(signature!, "base64url"))).toBe(true);

      const pems = (await (await fetch(`${sim.url}/oauth2/v1/certs`)).json()) as Json;
      expect(Object.keys(pems)).toEqual([kid]);
      const cert = new X509Certificate(pems[kid]);
      expect(cert.verify(cert.publicKey)).toBe(true); // self-signed
      expect(cert.publicKey.export({ format: "jwk" })).toMatchObject({ n: keys[0].n, e: keys[0].e });

      const discovery = (await (await fetch(`${sim.url}/.well-known/openid-configuration`)).json()) as Json;
      expect(discovery).toMatchObject({ issuer: sim.url, jwks_uri: `${sim.url}/oauth2/v3/certs` });
    });

    it("are not issued without the openid scope", async () => {
      const tokens = await signIn(oauthClient(sim.url), "pat@example.com", [GMAIL]);
      expect(tokens.id_token).toBeUndefined();
      expect(tokens.scope).toBe(GMAIL);
    });

    it("carry the configured issuer when one is set", async () => {
      const named = createGmailSimulator({
        accounts: [{ email: "iss@example.com", count: 0 }],
        issuer: "https://accounts.example.test",
      });
      const url = await named.listen(0, "127.0.0.1");
      try {
        const { id_token } = await signIn(oauthClient(url), "iss@example.com");
        expect(claimsOf(id_token!).iss).toBe("https://accounts.example.test");
      } finally {
        await named.close();
      }
    });
  });

  describe("stable account ids (sub)", () => {
    const subOf = async (email: string) => (await control("GET", `/accounts/${email}`)).body.sub as string;

    it("are the same for an address on every simulator with the same seed, and survive a reset", async () => {
      const before = await subOf("pat@example.com");
      expect((await control("POST", "/accounts", { email: "pat@example.com", count: 2 })).body.sub).toBe(
        before,
      );
      const twin = createGmailSimulator({ accounts: [{ email: "pat@example.com", count: 1 }] });
      expect(twin.state.identities.subOf("pat@example.com")).toBe(before);
      const reseeded = createGmailSimulator({
        seed: "other",
        accounts: [{ email: "pat@example.com", count: 1 }],
      });
      expect(reseeded.state.identities.subOf("pat@example.com")).not.toBe(before);
    });

    it("move with an address change, and a recycled address gets a new one", async () => {
      await control("POST", "/accounts", { email: "old-name@example.com", count: 1 });
      const sub = await subOf("old-name@example.com");
      // The person renames their account: the old address goes, the new one has the same sub.
      expect(
        (await control("POST", "/accounts", { email: "new-name@example.com", count: 1, sub })).status,
      ).toBe(409);
      await control("DELETE", "/accounts/old-name@example.com");
      expect(
        (await control("POST", "/accounts", { email: "new-name@example.com", count: 1, sub })).body.sub,
      ).toBe(sub);
      const { id_token } = (
        await oauthClient(sim.url).getToken(
          await codeFor(
            oauthClient(sim.url).generateAuthUrl({
              scope: ["openid", "email", GMAIL],
              login_hint: "new-name@example.com",
            }),
          ),
        )
      ).tokens;
      expect(claimsOf(id_token!)).toMatchObject({ sub, email: "new-name@example.com" });

      // Somebody else now takes the old address: a different person, a different sub.
      const recycled = (await control("POST", "/accounts", { email: "old-name@example.com", count: 1 })).body;
      expect(recycled.sub).toMatch(/^1\d{20}$/);
      expect(recycled.sub).not.toBe(sub);
    });

    it("refuses a sub that is not digits", async () => {
      const res = await control("POST", "/accounts", { email: "odd@example.com", count: 1, sub: "12a" });
      expect(res.status).toBe(400);
    });
  });
});
