import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdTokenSigner } from "../../gmail-sim/identity";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { simGoogleConfig } from "../../test/simGmail";
import { CertsUnavailableError, IdTokenError, IdTokenVerifier } from "./idToken";

describe("IdTokenVerifier", () => {
  let sim: GmailSimulator;
  let verifier: IdTokenVerifier;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: sim.url,
    azp: "test-client",
    aud: "test-client",
    sub: "110000000000000000001",
    email: "Ann@Example.com",
    email_verified: true,
    iat: now(),
    exp: now() + 3600,
    ...extra,
  });
  const sign = (extra: Record<string, unknown> = {}) => sim.state.signer.sign(claims(extra));

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    verifier = new IdTokenVerifier(simGoogleConfig(sim.url));
  });
  afterAll(() => sim?.close());

  it("accepts a token of the configured issuer for our client and answers sub and the address", async () => {
    expect(await verifier.verify(sign())).toEqual({ sub: "110000000000000000001", email: "ann@example.com" });
    expect(await verifier.verify(sign({ email_verified: "true", azp: undefined }))).toMatchObject({
      sub: "110000000000000000001",
    });
  });

  it("accepts either of Google's issuer forms when configured for Google", async () => {
    const google = new IdTokenVerifier({
      ...simGoogleConfig(sim.url),
      issuers: ["https://accounts.google.com", "accounts.google.com"],
    });
    for (const iss of ["https://accounts.google.com", "accounts.google.com"]) {
      expect((await google.verify(sign({ iss }))).sub).toBe("110000000000000000001");
    }
    await expect(google.verify(sign())).rejects.toThrow(/Invalid issuer/);
  });

  it.each([
    ["another issuer", { iss: "https://accounts.evil.test" }, /Invalid issuer/],
    ["another audience", { aud: "someone-else" }, /Wrong recipient/],
    ["another authorized party", { azp: "someone-else" }, /azp/],
    ["an expired token", { iat: now() - 7200, exp: now() - 3600 }, /too late/],
    ["a token from the future", { iat: now() + 3600, exp: now() + 7200 }, /too early/],
    ["an unverified address", { email_verified: false }, /not verified/],
    ["no verification claim", { email_verified: undefined }, /not verified/],
    ["no address", { email: undefined }, /no address/],
    ["no sub", { sub: undefined }, /sub/],
    ["an empty sub", { sub: "" }, /sub/],
  ])("refuses %s", async (_what, extra, reason) => {
    const refusal = verifier.verify(sign(extra));
    await expect(refusal).rejects.toBeInstanceOf(IdTokenError);
    await expect(verifier.verify(sign(extra))).rejects.toThrow(reason);
  });

  it("refuses a changed claim, a foreign key's signature, an unsigned token and no token", async () => {
    const [header, , signature] = sign().split(".");
    const forgedClaims = Buffer.from(JSON.stringify(claims({ sub: "119999999999999999999" }))).toString(
      "base64url",
    );
    await expect(verifier.verify(`${header}.${forgedClaims}.${signature}`)).rejects.toThrow(/signature/);

    // A key of the same name that is not the published one.
    const impostor = new IdTokenSigner();
    const foreign = impostor.sign(claims(), { kid: sim.state.signer.kid });
    await expect(verifier.verify(foreign)).rejects.toThrow(/signature/);
    await expect(verifier.verify(impostor.sign(claims()))).rejects.toThrow(/No pem found/);

    const none = `${Buffer.from(JSON.stringify({ alg: "none", kid: sim.state.signer.kid })).toString("base64url")}.${forgedClaims}.`;
    await expect(verifier.verify(none)).rejects.toBeInstanceOf(IdTokenError);
    await expect(verifier.verify("not-a-jwt")).rejects.toThrow(/malformed/);
    await expect(verifier.verify(undefined)).rejects.toThrow(/no ID token/);
    // The refusal names the reason, never the token or its claims.
    const message = await verifier
      .verify(`${header}.${forgedClaims}.${signature}`)
      .catch((e: Error) => e.message);
    expect(message).not.toContain("ann@example.com");
    expect(message).not.toContain(forgedClaims);
  });

  it("fetches the certificates again when a token names a key it has not seen (rotation)", async () => {
    const rotating = createGmailSimulator();
    const url = await rotating.listen(0, "127.0.0.1");
    try {
      const v = new IdTokenVerifier(simGoogleConfig(url));
      const token = (extra = {}) => rotating.state.signer.sign({ ...claims(extra), iss: url });
      expect((await v.verify(token())).sub).toBe("110000000000000000001");
      // Google rotated its key (here: the simulator got a new one); the cached set lacks it.
      (rotating.state as { signer: IdTokenSigner }).signer = new IdTokenSigner();
      expect((await v.verify(token())).sub).toBe("110000000000000000001");
    } finally {
      await rotating.close();
    }
  });

  it("says so when the certificates cannot be fetched, rather than calling the token bad", async () => {
    const down = new IdTokenVerifier({ ...simGoogleConfig(sim.url), certsUrl: "http://127.0.0.1:9/certs" });
    await expect(down.verify(sign())).rejects.toBeInstanceOf(CertsUnavailableError);
  });
});
