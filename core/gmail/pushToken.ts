import { createPublicKey, type JsonWebKey } from "node:crypto";
import { OAuth2Client } from "google-auth-library";
import type { GmailPushSettings } from "../config";

/** The push's bearer token is missing, forged, stale, for another audience or from another sender. */
export class PushTokenError extends Error {
  constructor(readonly reason: string) {
    super(`push token refused: ${reason}`);
    this.name = "PushTokenError";
  }
}

/** Google's signing keys could not be fetched: nothing is known about the token yet. */
export class PushKeysUnavailableError extends Error {
  constructor() {
    super("Google's OIDC signing keys could not be fetched");
    this.name = "PushKeysUnavailableError";
  }
}

/** What the token proves about the sender. */
export interface PushSender {
  /** The service account Pub/Sub pushed as, when the token names one. */
  email: string | null;
}

/** When the JWK set says nothing about caching: Google's keys live for days, rotation adds new ones first. */
const DEFAULT_MAX_AGE_MS = 3_600_000;
/**
 * An unknown key id fetches the set again (Google rotated), but at most this often: a stream of
 * forged tokens with invented key ids must not turn into a stream of requests to Google.
 */
const REFETCH_AT_MOST_EVERY_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

/** The library's messages quote the token after a colon; keep only the reason. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(": ")[0]!.slice(0, 200);
}

function headerOf(token: string): { kid?: unknown; alg?: unknown } | null {
  try {
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
    return header && typeof header === "object" ? header : null;
  } catch {
    return null;
  }
}

/**
 * Checks the OIDC token Cloud Pub/Sub attaches to an authenticated push
 * (`Authorization: Bearer <JWT>`): RS256 signed by one of Google's keys (the JWK set at
 * GMAIL_PUSH_JWKS_URL), `iss` Google's, `aud` our configured audience, `iat`/`exp` current
 * (google-auth-library's five minutes of clock skew), and, when configured, `email` the push
 * subscription's service account with `email_verified`. The signature and claim checks are
 * google-auth-library's `verifySignedJwtWithCertsAsync`; this class only fetches and caches the
 * keys, turning each JWK into the PEM the library verifies with in Node.
 */
export class PushTokenVerifier {
  private readonly library = new OAuth2Client();
  private keys: Record<string, string> = {};
  private fresh = 0;
  private fetchedAt = 0;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly settings: Pick<GmailPushSettings, "audience" | "serviceAccount" | "jwksUrl" | "issuers">,
    private readonly refetchEveryMs = REFETCH_AT_MOST_EVERY_MS,
  ) {}

  async verify(authorization: string | undefined): Promise<PushSender> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match) throw new PushTokenError("no bearer token");
    const token = match[1]!;
    const header = headerOf(token);
    if (!header || typeof header.kid !== "string") throw new PushTokenError("malformed token");
    // Google signs these with RSA keys only; anything else (none, HS256 with the key as secret) is refused unread.
    if (header.alg !== "RS256") throw new PushTokenError("not RS256");
    if (Date.now() >= this.fresh) await this.refresh();
    else if (!Object.hasOwn(this.keys, header.kid) && Date.now() - this.fetchedAt >= this.refetchEveryMs)
      await this.refresh();
    if (!Object.hasOwn(this.keys, header.kid)) throw new PushTokenError("signed by an unknown key");

    let claims: Record<string, unknown> | undefined;
    try {
      const ticket = await this.library.verifySignedJwtWithCertsAsync(
        token,
        this.keys,
        this.settings.audience,
        this.settings.issuers,
      );
      claims = ticket.getPayload() as Record<string, unknown> | undefined;
    } catch (err) {
      throw new PushTokenError(reasonOf(err));
    }
    if (!claims) throw new PushTokenError("no claims");
    const email = typeof claims.email === "string" ? claims.email.toLowerCase() : null;
    if (this.settings.serviceAccount) {
      if (email !== this.settings.serviceAccount) throw new PushTokenError("sent by another account (email)");
      const verified = claims.email_verified as unknown;
      if (verified !== true && verified !== "true")
        throw new PushTokenError("the sender's address is not verified");
    }
    return { email };
  }

  /** One fetch at a time; a failure keeps the keys we had and says so only when we have none. */
  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.fetchedAt = Date.now();
    let body: { keys?: unknown };
    let maxAgeMs = DEFAULT_MAX_AGE_MS;
    try {
      const res = await fetch(this.settings.jwksUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = (await res.json()) as { keys?: unknown };
      const maxAge = /max-age=(\d+)/.exec(res.headers.get("cache-control") ?? "")?.[1];
      if (maxAge) maxAgeMs = Number(maxAge) * 1000;
    } catch {
      if (Object.keys(this.keys).length === 0) throw new PushKeysUnavailableError();
      // Google is away: keep verifying with the keys we have, and ask again a little later
      // rather than make every push wait for a fetch that times out.
      this.fresh = Date.now() + this.refetchEveryMs;
      return;
    }
    const keys: Record<string, string> = {};
    for (const jwk of Array.isArray(body.keys) ? body.keys : []) {
      if (!jwk || typeof jwk !== "object") continue;
      const { kid, kty } = jwk as { kid?: unknown; kty?: unknown };
      if (typeof kid !== "string" || kty !== "RSA") continue;
      try {
        keys[kid] = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" })
          .export({ type: "spki", format: "pem" })
          .toString();
      } catch {
        // A key Node cannot read is one nobody can verify with: skip it.
      }
    }
    if (Object.keys(keys).length === 0) {
      if (Object.keys(this.keys).length === 0) throw new PushKeysUnavailableError();
      return;
    }
    this.keys = keys;
    this.fresh = Date.now() + maxAgeMs;
  }
}
