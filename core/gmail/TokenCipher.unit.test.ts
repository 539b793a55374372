import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyId, TokenCipher, TokenEnvelopeError } from "./TokenCipher";

/** An envelope as the first release wrote it (`v1.<iv>.<tag>.<data>`, no key id). */
function legacyEnvelope(key: Buffer, tokens: object, userId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(userId));
  const body = Buffer.concat([cipher.update(JSON.stringify(tokens), "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

const b64 = (s: string) => Buffer.from(s, "base64url");

describe("TokenCipher", () => {
  const key = randomBytes(32);
  const cipher = new TokenCipher(key);
  const tokens = { access_token: "ya29.secret-access", refresh_token: "1//secret-refresh", expiry_date: 1 };

  it("round-trips a token set without leaving it readable", () => {
    const sealed = cipher.encrypt(tokens, "user-a");
    expect(sealed).not.toContain("secret");
    expect(cipher.decrypt(sealed, "user-a")).toEqual(tokens);
    expect(cipher.encrypt(tokens, "user-a")).not.toBe(sealed); // fresh IV every time
  });

  it("names its key in the envelope, with a 12-byte IV and a 16-byte tag", () => {
    const [version, kid, iv, tag] = cipher.encrypt(tokens, "user-a").split(".");
    expect(version).toBe("v2");
    expect(kid).toBe(keyId(key));
    expect(kid).toBe(cipher.currentKeyId);
    expect(b64(iv!)).toHaveLength(12);
    expect(b64(tag!)).toHaveLength(16);
    expect(keyId(randomBytes(32))).not.toBe(kid);
  });

  it("refuses another user's ciphertext, a tampered one and another key's", () => {
    const sealed = cipher.encrypt(tokens, "user-a");
    expect(() => cipher.decrypt(sealed, "user-b")).toThrow(TokenEnvelopeError);
    const parts = sealed.split(".");
    const body = b64(parts[4]!);
    body[0] = body[0]! ^ 1;
    parts[4] = body.toString("base64url");
    expect(() => cipher.decrypt(parts.join("."), "user-a")).toThrow(/does not authenticate/);
    expect(() => new TokenCipher(randomBytes(32)).decrypt(sealed, "user-a")).toThrow(/No key with id/);
  });

  it("refuses a tag with one bit flipped", () => {
    const parts = cipher.encrypt(tokens, "user-a").split(".");
    const tag = b64(parts[3]!);
    tag[15] = tag[15]! ^ 0x80;
    parts[3] = tag.toString("base64url");
    expect(() => cipher.decrypt(parts.join("."), "user-a")).toThrow(/does not authenticate/);
  });

  it("refuses a truncated tag, which GCM alone would accept down to 4 bytes", () => {
    const parts = cipher.encrypt(tokens, "user-a").split(".");
    for (const bytes of [4, 8, 12, 15]) {
      const short = [...parts];
      short[3] = b64(parts[3]!).subarray(0, bytes).toString("base64url");
      expect(() => cipher.decrypt(short.join("."), "user-a")).toThrow(`tag must be 16 bytes, not ${bytes}`);
    }
  });

  it("refuses an IV of any length but 12 bytes", () => {
    const parts = cipher.encrypt(tokens, "user-a").split(".");
    for (const iv of [Buffer.alloc(0), randomBytes(8), randomBytes(11), randomBytes(16)]) {
      const odd = [...parts];
      odd[2] = iv.toString("base64url");
      expect(() => cipher.decrypt(odd.join("."), "user-a")).toThrow(`IV must be 12 bytes, not ${iv.length}`);
    }
  });

  it("refuses a key id it does not hold, even when the key is the right one under another name", () => {
    const parts = cipher.encrypt(tokens, "user-a").split(".");
    parts[1] = keyId(randomBytes(32));
    expect(() => cipher.decrypt(parts.join("."), "user-a")).toThrow(/No key with id/);
  });

  it("refuses envelopes it does not know the shape of", () => {
    const sealed = cipher.encrypt(tokens, "user-a");
    for (const bad of [
      "",
      "v3.a.b.c.d",
      sealed.split(".").slice(0, 4).join("."),
      `${sealed}.extra`,
      sealed.replace(/\.[^.]+$/, ".not*base64"),
    ]) {
      expect(() => cipher.decrypt(bad, "user-a")).toThrow(TokenEnvelopeError);
    }
  });

  it("still opens envelopes written before key ids, with the current key or an old one", () => {
    const old = randomBytes(32);
    const legacyCurrent = legacyEnvelope(key, tokens, "user-a");
    const legacyOld = legacyEnvelope(old, tokens, "user-a");
    const rotating = new TokenCipher(key, [old]);
    expect(rotating.decrypt(legacyCurrent, "user-a")).toEqual(tokens);
    expect(rotating.decrypt(legacyOld, "user-a")).toEqual(tokens);
    expect(rotating.isStale(legacyCurrent)).toBe(true);
    expect(() => rotating.decrypt(legacyOld, "user-b")).toThrow(/No configured key/);
    expect(() => cipher.decrypt(legacyOld, "user-a")).toThrow(/No configured key/);
  });

  it("rotates: the new key seals, the old key still opens what it sealed, nothing else does", () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new TokenCipher(oldKey).encrypt(tokens, "user-a");

    const during = new TokenCipher(newKey, [oldKey]);
    expect(during.decrypt(before, "user-a")).toEqual(tokens);
    expect(during.isStale(before)).toBe(true);
    const resealed = during.encrypt(during.decrypt(before, "user-a"), "user-a");
    expect(resealed.split(".")[1]).toBe(keyId(newKey));
    expect(during.isStale(resealed)).toBe(false);

    // Once every row is resealed the old key can go: its envelopes no longer open.
    const after = new TokenCipher(newKey);
    expect(after.decrypt(resealed, "user-a")).toEqual(tokens);
    expect(() => after.decrypt(before, "user-a")).toThrow(/No key with id/);
  });

  it("accepts only 32-byte keys", () => {
    expect(() => new TokenCipher(randomBytes(16))).toThrow(/32-byte/);
    expect(() => new TokenCipher(randomBytes(32), [randomBytes(31)])).toThrow(/32-byte/);
  });
});
