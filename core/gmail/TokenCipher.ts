import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** What we keep of Google's token response. */
export interface StoredTokens {
  access_token?: string | null;
  refresh_token?: string | null;
  expiry_date?: number | null;
  scope?: string | null;
  token_type?: string | null;
}

/** The first envelope, written before key ids existed: `v1.<iv>.<tag>.<ciphertext>`. */
const LEGACY_VERSION = "v1";
const VERSION = "v2";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * A key's public name: the first 6 bytes of a domain-separated SHA-256 of it. It tells which key
 * sealed an envelope without trying them all, and reveals nothing usable about the key.
 */
export function keyId(key: Buffer): string {
  return createHash("sha256")
    .update("inbox-sync token key id\0")
    .update(key)
    .digest()
    .subarray(0, 6)
    .toString("base64url");
}

/** The reason an envelope did not open; never the tokens or the key. */
export class TokenEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenEnvelopeError";
  }
}

function part(value: string | undefined, what: string, bytes?: number): Buffer {
  if (value === undefined || !BASE64URL.test(value)) throw new TokenEnvelopeError(`Malformed ${what}`);
  const decoded = Buffer.from(value, "base64url");
  if (bytes !== undefined && decoded.length !== bytes) {
    throw new TokenEnvelopeError(`The ${what} must be ${bytes} bytes, not ${decoded.length}`);
  }
  return decoded;
}

/**
 * AES-256-GCM envelope for OAuth tokens at rest: `v2.<kid>.<iv>.<tag>.<ciphertext>` (base64url).
 * The user id is bound in as associated data, so one user's ciphertext cannot be moved to another
 * row. `kid` names the key that sealed it: the current key seals, and old keys (during a key
 * rotation) still open what they sealed. Envelopes from before key ids (`v1`) open with whichever
 * key fits.
 */
export class TokenCipher {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(
    private readonly key: Buffer,
    oldKeys: readonly Buffer[] = [],
  ) {
    for (const k of [key, ...oldKeys]) {
      if (k.length !== KEY_BYTES) throw new Error("TokenCipher needs 32-byte keys");
      if (!this.keys.has(keyId(k))) this.keys.set(keyId(k), k);
    }
    this.currentKeyId = keyId(key);
  }

  encrypt(tokens: StoredTokens, userId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(userId));
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), "utf8"), cipher.final()]);
    return [
      VERSION,
      this.currentKeyId,
      ...[iv, cipher.getAuthTag(), body].map((p) => p.toString("base64url")),
    ].join(".");
  }

  decrypt(envelope: string, userId: string): StoredTokens {
    const parts = envelope.split(".");
    if (parts[0] === VERSION && parts.length === 5) {
      const [, kid, iv, tag, body] = parts;
      const key = this.keys.get(kid!);
      if (!key) throw new TokenEnvelopeError(`No key with id ${kid} is configured`);
      return this.open(
        key,
        part(iv, "IV", IV_BYTES),
        part(tag, "tag", TAG_BYTES),
        part(body, "ciphertext"),
        userId,
      );
    }
    if (parts[0] === LEGACY_VERSION && parts.length === 4) {
      const [, iv, tag, body] = parts;
      const sealed = [
        part(iv, "IV", IV_BYTES),
        part(tag, "tag", TAG_BYTES),
        part(body, "ciphertext"),
      ] as const;
      for (const key of this.keys.values()) {
        try {
          return this.open(key, ...sealed, userId);
        } catch {
          // Not this key: GCM's tag says so; the next one may fit.
        }
      }
      throw new TokenEnvelopeError("No configured key opens this envelope");
    }
    throw new TokenEnvelopeError("Unknown token envelope");
  }

  /** Whether the envelope should be sealed again: it is not under the current key in the current format. */
  isStale(envelope: string): boolean {
    return !envelope.startsWith(`${VERSION}.${this.currentKeyId}.`);
  }

  private open(key: Buffer, iv: Buffer, tag: Buffer, body: Buffer, userId: string): StoredTokens {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(userId));
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new TokenEnvelopeError("The envelope does not authenticate (wrong key, user or a changed byte)");
    }
    return JSON.parse(plain.toString("utf8")) as StoredTokens;
  }
}
