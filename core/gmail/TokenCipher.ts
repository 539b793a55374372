import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** What we keep of Google's token response. */
export interface StoredTokens {
  access_token?: string | null;
  refresh_token?: string | null;
  expiry_date?: number | null;
  scope?: string | null;
  token_type?: string | null;
}

const VERSION = "v1";

/**
 * AES-256-GCM envelope for OAuth tokens at rest: `v1.<iv>.<tag>.<ciphertext>` (base64url). The
 * user id is bound in as associated data, so one user's ciphertext cannot be moved to another row.
 */
export class TokenCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("TokenCipher needs a 32-byte key");
  }

  encrypt(tokens: StoredTokens, userId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(userId));
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  decrypt(envelope: string, userId: string): StoredTokens {
    const [version, iv, tag, body] = envelope.split(".");
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error("Unknown token envelope");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(userId));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plain = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]);
    return JSON.parse(plain.toString("utf8")) as StoredTokens;
  }
}
