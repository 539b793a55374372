import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";
import { keyId } from "./gmail/TokenCipher";

const base = { DATA_DIR: ".data/test" };

function variableOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).variable;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("configuration: ID tokens and token keys", () => {
  it("expects Google's issuer and certificates by default, the simulator's with GMAIL_SIM_URL", () => {
    expect(loadConfig(base).google).toMatchObject({
      certsUrl: "https://www.googleapis.com/oauth2/v1/certs",
      issuers: ["https://accounts.google.com", "accounts.google.com"],
    });
    expect(loadConfig({ ...base, GMAIL_SIM_URL: "http://127.0.0.1:4010/" }).google).toMatchObject({
      certsUrl: "http://127.0.0.1:4010/oauth2/v1/certs",
      issuers: ["http://127.0.0.1:4010"],
    });
  });

  it("lets GOOGLE_ISSUER and GOOGLE_CERTS_URL override either", () => {
    const google = loadConfig({
      ...base,
      GMAIL_SIM_URL: "http://sim:4010",
      GOOGLE_ISSUER: "https://accounts.example.test",
      GOOGLE_CERTS_URL: "https://keys.example.test/certs",
    }).google;
    expect(google.issuers).toEqual(["https://accounts.example.test"]);
    expect(google.certsUrl).toBe("https://keys.example.test/certs");
    expect(variableOf({ GOOGLE_CERTS_URL: "keys" })).toBe("GOOGLE_CERTS_URL");
  });

  it("reads TOKEN_ENCRYPTION_KEYS_OLD as keys that still open, and names it when one is malformed", () => {
    const current = randomBytes(32);
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const config = loadConfig({
      ...base,
      TOKEN_ENCRYPTION_KEY: current.toString("hex"),
      TOKEN_ENCRYPTION_KEYS_OLD: ` ${a.toString("hex")} , ${b.toString("base64")} `,
    });
    expect(config.tokenEncryptionKeysOld.map(keyId)).toEqual([keyId(a), keyId(b)]);
    expect(loadConfig(base).tokenEncryptionKeysOld).toEqual([]);
    expect(variableOf({ TOKEN_ENCRYPTION_KEYS_OLD: `${a.toString("hex")},short` })).toBe(
      "TOKEN_ENCRYPTION_KEYS_OLD",
    );
  });
});
