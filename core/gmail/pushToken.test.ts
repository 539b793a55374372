import { createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PushKeysUnavailableError, PushTokenError, PushTokenVerifier } from "./pushToken";

/** A stand-in for Google's JWK set endpoint: counts fetches, can rotate keys and go away. */
function keyPair(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

function sign(privateKey: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const signed = `${b64({ alg: "RS256", kid, typ: "JWT" })}.${b64(claims)}`;
  return `${signed}.${createSign("RSA-SHA256").update(signed).sign(privateKey).toString("base64url")}`;
}

describe("PushTokenVerifier: Google's keys", () => {
  const first = keyPair("k1");
  const second = keyPair("k2");
  let served = [first.jwk];
  let fetches = 0;
  let down = false;
  let server: Server;
  let url: string;
  const audience = "https://inbox.example.com/webhooks/gmail";
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: "https://accounts.google.com",
      aud: audience,
      email: "push@p.iam.gserviceaccount.com",
      email_verified: true,
      iat: now,
      exp: now + 3600,
    };
  };
  const bearer = (k: ReturnType<typeof keyPair>) => `Bearer ${sign(k.privateKey, k.kid, claims())}`;
  const verifier = (refetchEveryMs?: number) =>
    new PushTokenVerifier(
      {
        audience,
        serviceAccount: "push@p.iam.gserviceaccount.com",
        jwksUrl: url,
        issuers: ["https://accounts.google.com"],
      },
      refetchEveryMs,
    );

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      if (down) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v3/certs`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    served = [first.jwk];
    fetches = 0;
    down = false;
  });

  it("fetches the key set once and verifies from the cache while its max-age lasts", async () => {
    const v = verifier();
    for (let i = 0; i < 5; i++)
      await expect(v.verify(bearer(first))).resolves.toEqual({ email: "push@p.iam.gserviceaccount.com" });
    expect(fetches).toBe(1);
  });

  it("a key id it has not seen fetches the set again (Google rotated), at most once per window", async () => {
    const v = verifier();
    await v.verify(bearer(first));
    served = [first.jwk, second.jwk];
    // Within the window a new key id is refused without asking Google again: forged key ids cannot make us hammer it.
    await expect(v.verify(bearer(second))).rejects.toThrow(PushTokenError);
    expect(fetches).toBe(1);
    served = [first.jwk];
    const eager = verifier(0);
    await eager.verify(bearer(first));
    served = [first.jwk, second.jwk];
    await expect(eager.verify(bearer(second))).resolves.toBeDefined();
    expect(fetches).toBe(3);
  });

  it("says the keys are unavailable when none could ever be fetched, and keeps the old ones when Google goes away", async () => {
    down = true;
    await expect(verifier().verify(bearer(first))).rejects.toThrow(PushKeysUnavailableError);
    down = false;
    const v = verifier(0);
    await v.verify(bearer(first));
    down = true;
    served = [second.jwk];
    await expect(v.verify(bearer(second))).rejects.toThrow(PushTokenError);
    await expect(v.verify(bearer(first))).resolves.toBeDefined();
  });

  it("refuses a token whose header is not RS256 before fetching anything", async () => {
    const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");
    const hs = `${b64({ alg: "HS256", kid: "k1" })}.${b64(claims())}.c2ln`;
    await expect(verifier().verify(`Bearer ${hs}`)).rejects.toThrow("not RS256");
    await expect(verifier().verify("Basic abc")).rejects.toThrow("no bearer token");
    expect(fetches).toBe(0);
  });
});
