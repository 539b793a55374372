/**
 * Google's OpenID Connect side: who an account is (its stable `sub`) and the signed ID tokens
 * that say so.
 *
 *   GET /oauth2/v3/certs                    the signing keys as a JWK set
 *   GET /oauth2/v1/certs                    the same keys as X.509 certificates (PEM), keyed by kid
 *   GET /.well-known/openid-configuration   the discovery document
 *
 * As at Google, an ID token is a JWT signed with RS256, comes from the token endpoint when the
 * grant's scope holds `openid`, and names the account by `sub`, a decimal string that stays with
 * the account when its address changes and is never given to another account.
 */
import { createHash, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./respond";

/** How long an ID token lives (Google: one hour). */
export const ID_TOKEN_LIFETIME_SECONDS = 3600;
/** Google lets clients cache its keys for hours; a restarted simulator has new ones (see certs). */
const CERTS_CACHE_CONTROL = "public, max-age=21600, must-revalidate, no-transform";

export interface IdTokenClaims {
  iss: string;
  azp: string;
  aud: string;
  sub: string;
  email: string;
  email_verified: boolean;
  at_hash?: string;
  nonce?: string;
  iat: number;
  exp: number;
}

// ---------------------------------------------------------------------------------------------
// Stable account ids.

/** Which `sub` each address has. Deterministic from the seed, so a restarted simulator agrees. */
export class Identities {
  private readonly byEmail = new Map<string, string>();

  constructor(private readonly seed: string) {}

  subOf(email: string): string | undefined {
    return this.byEmail.get(email);
  }

  holder(sub: string): string | undefined {
    for (const [email, held] of this.byEmail) if (held === sub) return email;
    return undefined;
  }

  /**
   * Gives `email` an identity: `sub` when given (the caller checked nobody else holds it), else
   * the one it has, else a fresh one derived from the seed and address that nobody holds.
   */
  assign(email: string, sub?: string): string {
    const chosen = sub ?? this.byEmail.get(email) ?? this.derive(email);
    this.byEmail.set(email, chosen);
    return chosen;
  }

  release(email: string): void {
    this.byEmail.delete(email);
  }

  private derive(email: string): string {
    const held = new Set(this.byEmail.values());
    for (let n = 0; ; n++) {
      const digest = createHash("sha256").update(`${this.seed}\0sub\0${email}\0${n}`).digest();
      // Google's ids are 21 decimal digits starting with 1.
      const sub = `1${(BigInt(`0x${digest.subarray(0, 16).toString("hex")}`) % 10n ** 20n).toString().padStart(20, "0")}`;
      if (!held.has(sub)) return sub;
    }
  }
}

export function isSub(value: unknown): value is string {
  return typeof value === "string" && /^[0-9]{1,255}$/.test(value);
}

// ---------------------------------------------------------------------------------------------
// Signing keys and ID tokens.

const b64url = (value: Buffer | string) => Buffer.from(value).toString("base64url");

/** The simulator's RS256 key, made on first use (tests that never ask for an ID token skip it). */
export class IdTokenSigner {
  private key?: { privateKey: KeyObject; publicKey: KeyObject; kid: string; certificate: string };

  private ensure() {
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const spki = publicKey.export({ type: "spki", format: "der" });
      const kid = createHash("sha256").update(spki).digest("hex").slice(0, 40);
      this.key = { privateKey, publicKey, kid, certificate: selfSignedCertificate(privateKey, spki) };
    }
    return this.key;
  }

  get kid(): string {
    return this.ensure().kid;
  }

  sign(claims: IdTokenClaims | Record<string, unknown>, header: Record<string, unknown> = {}): string {
    const { privateKey, kid } = this.ensure();
    const signed = `${b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT", ...header }))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign("RSA-SHA256").update(signed).sign(privateKey);
    return `${signed}.${b64url(signature)}`;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const { publicKey, kid } = this.ensure();
    const { n, e } = publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", alg: "RS256", use: "sig", kid, n, e }] };
  }

  pemCertificates(): Record<string, string> {
    const { kid, certificate } = this.ensure();
    return { [kid]: certificate };
  }
}

/** OIDC's `at_hash`: the left half of the SHA-256 of the access token, base64url. */
export function accessTokenHash(accessToken: string): string {
  return createHash("sha256").update(accessToken).digest().subarray(0, 16).toString("base64url");
}

// ---------------------------------------------------------------------------------------------
// A minimal X.509 v3 certificate, as Google's /oauth2/v1/certs serves one per key.

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
};
const utcTime = (at: Date) =>
  der(0x17, Buffer.from(`${at.toISOString().slice(2, 19).replace(/[-T:]/g, "")}Z`, "ascii"));
const commonName = (cn: string) => seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, Buffer.from(cn, "utf8")))));

function selfSignedCertificate(privateKey: KeyObject, spki: Buffer): string {
  const sha256WithRsa = seq(oid("1.2.840.113549.1.1.11"), Buffer.from([0x05, 0x00]));
  const name = commonName("federated-signon.system.gserviceaccount.com");
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // v3
    der(0x02, Buffer.from([0x01, ...createHash("sha256").update(spki).digest().subarray(0, 7)])),
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 14 * 86_400_000))),
    name,
    spki,
  );
  const signature = createSign("RSA-SHA256").update(tbs).sign(privateKey);
  const cert = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = cert
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}

// ---------------------------------------------------------------------------------------------
// HTTP.

/**
 * The issuer this simulator signs as: the configured one, else the address the request came to
 * (which is the address the app was configured with, so `iss` matches what it expects).
 */
export function issuerFor(req: IncomingMessage, configured?: string): string {
  return configured ?? `http://${req.headers.host ?? "127.0.0.1"}`;
}

export function handleCerts(signer: IdTokenSigner, res: ServerResponse, format: "jwk" | "pem"): void {
  sendJson(res, 200, format === "jwk" ? signer.jwks() : signer.pemCertificates(), {
    "Cache-Control": CERTS_CACHE_CONTROL,
  });
}

export function handleDiscovery(req: IncomingMessage, res: ServerResponse, configuredIssuer?: string): void {
  const issuer = issuerFor(req, configuredIssuer);
  const base = `http://${req.headers.host ?? "127.0.0.1"}`;
  sendJson(res, 200, {
    issuer,
    authorization_endpoint: `${base}/o/oauth2/v2/auth`,
    token_endpoint: `${base}/token`,
    revocation_endpoint: `${base}/revoke`,
    jwks_uri: `${base}/oauth2/v3/certs`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "email", "profile"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    claims_supported: ["aud", "email", "email_verified", "exp", "iat", "iss", "sub"],
    code_challenge_methods_supported: ["plain", "S256"],
    grant_types_supported: ["authorization_code", "refresh_token"],
  });
}
