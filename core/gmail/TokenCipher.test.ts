import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenCipher } from "./TokenCipher";

describe("TokenCipher", () => {
  const cipher = new TokenCipher(randomBytes(32));
  const tokens = { access_token: "ya29.secret-access", refresh_token: "1//secret-refresh", expiry_date: 1 };

  it("round-trips a token set without leaving it readable", () => {
    const sealed = cipher.encrypt(tokens, "user-a");
    expect(sealed).not.toContain("secret");
    expect(cipher.decrypt(sealed, "user-a")).toEqual(tokens);
    expect(cipher.encrypt(tokens, "user-a")).not.toBe(sealed); // fresh IV every time
  });

  it("refuses another user's ciphertext, a tampered one and another key's", () => {
    const sealed = cipher.encrypt(tokens, "user-a");
    expect(() => cipher.decrypt(sealed, "user-b")).toThrow();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("x".repeat(20)).toString("base64url");
    expect(() => cipher.decrypt(parts.join("."), "user-a")).toThrow();
    expect(() => new TokenCipher(randomBytes(32)).decrypt(sealed, "user-a")).toThrow();
  });
});
