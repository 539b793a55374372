import type { LoginTicket, OAuth2Client } from "google-auth-library";
import type { Config } from "../config";
import { createOAuthClient } from "./googleClients";

/** Who signed in, as Google's ID token says: `sub` is the account's stable id. */
export interface GoogleIdentity {
  sub: string;
  /** Verified, lower-cased. */
  email: string;
}

/** The ID token is missing, forged, stale, for another client, or names no verified address. */
export class IdTokenError extends Error {
  constructor(readonly reason: string) {
    super(`ID token refused: ${reason}`);
    this.name = "IdTokenError";
  }
}

/** Google's signing certificates could not be fetched: nothing is known about the token. */
export class CertsUnavailableError extends Error {
  constructor() {
    super("Google's ID-token signing certificates could not be fetched");
    this.name = "CertsUnavailableError";
  }
}

/** The library's messages quote the token or its claims after a colon; keep only the reason. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(": ")[0]!.slice(0, 200);
}

function keyIdOf(idToken: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(idToken.split(".")[0] ?? "", "base64url").toString("utf8"));
    return typeof header?.kid === "string" ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the ID token that came with Google's token response. OpenID Connect Core 3.1.3.7 lets a
 * client that got it straight from the token endpoint over TLS skip the signature, but checking
 * it costs one cached fetch of Google's certificates, and then a forged or replayed token cannot
 * name another account even if the token response was tampered with somewhere. Beyond the
 * signature: `iss` is one of the configured issuers, `aud` (and `azp`, when present) is our
 * client id, `exp`/`iat` are current (google-auth-library allows five minutes of clock skew),
 * and the address is verified.
 *
 * Certificates are cached as long as Google's Cache-Control says. A token signed by a key we have
 * not seen (Google rotated, or a restarted simulator made a new one) fetches them once more.
 */
export class IdTokenVerifier {
  private client: OAuth2Client;

  constructor(private readonly google: Config["google"]) {
    this.client = createOAuthClient(google);
  }

  async verify(idToken: string | null | undefined): Promise<GoogleIdentity> {
    if (!idToken) throw new IdTokenError("Google's answer has no ID token");
    const kid = keyIdOf(idToken);
    if (!kid) throw new IdTokenError("malformed token");
    let certs = await this.certs(false);
    if (!Object.hasOwn(certs, kid)) certs = await this.certs(true);

    let ticket: LoginTicket;
    try {
      ticket = await this.client.verifySignedJwtWithCertsAsync(
        idToken,
        certs,
        this.google.clientId,
        this.google.issuers,
      );
    } catch (err) {
      throw new IdTokenError(reasonOf(err));
    }
    const claims = ticket.getPayload();
    if (!claims) throw new IdTokenError("no claims");
    if (claims.azp !== undefined && claims.azp !== this.google.clientId) {
      throw new IdTokenError("issued to another client (azp)");
    }
    if (typeof claims.sub !== "string" || !/^[\x21-\x7e]{1,255}$/.test(claims.sub)) {
      throw new IdTokenError("no account id (sub)");
    }
    if (typeof claims.email !== "string" || claims.email === "") throw new IdTokenError("no address");
    // Google sends a boolean; some older tokens carried the string "true".
    const verified = claims.email_verified as unknown;
    if (verified !== true && verified !== "true") throw new IdTokenError("the address is not verified");
    return { sub: claims.sub, email: claims.email.trim().toLowerCase() };
  }

  private async certs(fresh: boolean) {
    // A new client has an empty cache; the old one's would answer from memory until max-age.
    if (fresh) this.client = createOAuthClient(this.google);
    try {
      return (await this.client.getFederatedSignonCertsAsync()).certs;
    } catch {
      throw new CertsUnavailableError();
    }
  }
}
