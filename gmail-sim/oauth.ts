/**
 * Google's OAuth2 grants, codes and tokens, as google-auth-library's OAuth2Client meets them. The
 * endpoints are in oauthAuthorize.ts (GET /o/oauth2/v2/auth) and oauthToken.ts (POST /token,
 * POST /revoke, GET /tokeninfo).
 * A grant whose scope holds `openid` also gets an ID token (see identity.ts). PKCE (RFC 7636) is
 * enforced as Google does: a code issued for a `code_challenge` is exchanged only with its
 * `code_verifier`.
 */
import { createHash, randomBytes } from "node:crypto";
import { accessTokenHash, ID_TOKEN_LIFETIME_SECONDS, type IdTokenSigner } from "./identity";

export const DEFAULT_SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
/** Google answers the short scope names with their full URLs (`openid` stays as it is). */
const SCOPE_ALIASES: Record<string, string> = {
  email: "https://www.googleapis.com/auth/userinfo.email",
  profile: "https://www.googleapis.com/auth/userinfo.profile",
};
/** RFC 7636 4.1/4.2: 43 to 128 unreserved characters, for a verifier and (S256 or plain) a challenge. */
export const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;

export function normalizeScope(scope: string): string {
  const scopes = scope
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => SCOPE_ALIASES[s] ?? s);
  return [...new Set(scopes)].join(" ");
}

const hasOpenId = (scope: string) => scope.split(" ").includes("openid");
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const EXPIRED_OR_REVOKED = "Token has been expired or revoked.";

export interface Grant {
  readonly id: number;
  readonly email: string;
  /** The account's stable id at the time of consent. */
  readonly sub?: string;
  readonly clientId: string;
  readonly scope: string;
  readonly refreshToken?: string;
  revoked: boolean;
  readonly accessTokens: Set<string>;
}

export interface AccessToken {
  readonly token: string;
  readonly grant: Grant;
  readonly expiresAt: number;
}

interface AuthorizationCode {
  readonly email: string;
  readonly sub?: string;
  readonly nonce?: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly offline: boolean;
  /** `prompt=consent`: the person saw the consent screen, so a refresh token comes again. */
  readonly forceConsent?: boolean;
  readonly challenge?: string;
  readonly challengeMethod?: string;
  readonly expiresAt: number;
  used: boolean;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
  token_type: "Bearer";
  id_token?: string;
}

/** What the token endpoint needs to sign an ID token. */
export interface IdTokenContext {
  issuer: string;
  signer: IdTokenSigner;
}

export type TokenOutcome =
  | { ok: true; body: TokenResponse }
  | { ok: false; status: number; error: string; description: string };

type TokenFailure = Extract<TokenOutcome, { ok: false }>;

const invalidGrant = (description: string): TokenFailure => ({
  ok: false,
  status: 400,
  error: "invalid_grant",
  description,
});

function randomToken(prefix: string, bytes = 24): string {
  return prefix + randomBytes(bytes).toString("base64url");
}

/** Grants, codes and tokens. Access-token lifetime is configurable so tests can watch them expire. */
export class OAuthStore {
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly grants = new Set<Grant>();
  private nextGrantId = 1;
  /** Client ids seen at the token endpoint (any is accepted). */
  readonly clientIds = new Set<string>();

  constructor(
    public accessTokenLifetimeSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  private hasLiveOfflineGrant(email: string, clientId: string): boolean {
    for (const g of this.grants) {
      if (!g.revoked && g.refreshToken && g.email === email && g.clientId === clientId) return true;
    }
    return false;
  }

  issueCode(code: Omit<AuthorizationCode, "used" | "expiresAt">): string {
    const value = randomToken("4/0Asim");
    this.codes.set(value, { ...code, used: false, expiresAt: this.now() + CODE_LIFETIME_MS });
    return value;
  }

  private issueAccessToken(grant: Grant): TokenResponse {
    const token = randomToken("ya29.sim_", 32);
    const lifetimeMs = this.accessTokenLifetimeSeconds * 1000;
    this.accessTokens.set(token, { token, grant, expiresAt: this.now() + lifetimeMs });
    grant.accessTokens.add(token);
    if (this.accessTokens.size > 50_000) this.sweep();
    return {
      access_token: token,
      expires_in: Math.max(1, Math.round(this.accessTokenLifetimeSeconds)),
      scope: grant.scope,
      token_type: "Bearer",
    };
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.accessTokens) {
      if (entry.expiresAt <= now) {
        this.accessTokens.delete(token);
        entry.grant.accessTokens.delete(token);
      }
    }
  }

  /** The unused, unexpired code `fields` redeem, or why they do not (redirect URI, PKCE verifier). */
  private redeemable(fields: Record<string, string>): AuthorizationCode | TokenFailure {
    const code = fields.code;
    if (!code)
      return {
        ok: false,
        status: 400,
        error: "invalid_request",
        description: "Missing required parameter: code",
      };
    const entry = this.codes.get(code);
    if (!entry || entry.used || entry.expiresAt <= this.now()) return invalidGrant("Malformed auth code.");
    if ((fields.redirect_uri ?? "") !== entry.redirectUri) {
      return { ok: false, status: 400, error: "redirect_uri_mismatch", description: "Bad Request" };
    }
    if (entry.challenge) {
      const verifier = fields.code_verifier ?? "";
      if (!verifier) return invalidGrant("Missing code verifier.");
      const computed =
        entry.challengeMethod === "S256"
          ? createHash("sha256").update(verifier).digest("base64url")
          : verifier;
      if (!PKCE_VALUE.test(verifier) || computed !== entry.challenge) {
        return invalidGrant("Invalid code verifier.");
      }
    }
    return entry;
  }

  private createGrant(entry: AuthorizationCode): Grant {
    const grant: Grant = {
      id: this.nextGrantId++,
      email: entry.email,
      ...(entry.sub ? { sub: entry.sub } : {}),
      clientId: entry.clientId,
      scope: entry.scope,
      revoked: false,
      accessTokens: new Set(),
      // As Google does: a refresh token only on the first offline grant of this account to this
      // client, or when consent was prompted again; later sign-ins get an access token alone.
      ...(entry.offline && (entry.forceConsent || !this.hasLiveOfflineGrant(entry.email, entry.clientId))
        ? { refreshToken: randomToken("1//0sim", 32) }
        : {}),
    };
    this.grants.add(grant);
    if (grant.refreshToken) this.refreshTokens.set(grant.refreshToken, grant);
    return grant;
  }

  private idToken(
    grant: Grant & { sub: string },
    nonce: string | undefined,
    accessToken: string,
    identity: IdTokenContext,
  ): string {
    const iat = Math.floor(this.now() / 1000);
    return identity.signer.sign({
      iss: identity.issuer,
      azp: grant.clientId,
      aud: grant.clientId,
      sub: grant.sub,
      email: grant.email,
      email_verified: true,
      at_hash: accessTokenHash(accessToken),
      ...(nonce ? { nonce } : {}),
      iat,
      exp: iat + ID_TOKEN_LIFETIME_SECONDS,
    });
  }

  exchangeCode(fields: Record<string, string>, identity?: IdTokenContext): TokenOutcome {
    const entry = this.redeemable(fields);
    if ("ok" in entry) return entry;
    entry.used = true;
    this.codes.delete(fields.code as string);
    const grant = this.createGrant(entry);
    const body = this.issueAccessToken(grant);
    if (grant.refreshToken) body.refresh_token = grant.refreshToken;
    if (identity && grant.sub && hasOpenId(grant.scope)) {
      body.id_token = this.idToken({ ...grant, sub: grant.sub }, entry.nonce, body.access_token, identity);
    }
    return { ok: true, body };
  }

  refresh(fields: Record<string, string>): TokenOutcome {
    const token = fields.refresh_token;
    if (!token) {
      return {
        ok: false,
        status: 400,
        error: "invalid_request",
        description: "Missing required parameter: refresh_token",
      };
    }
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.revoked)
      return { ok: false, status: 400, error: "invalid_grant", description: EXPIRED_OR_REVOKED };
    return { ok: true, body: this.issueAccessToken(grant) };
  }

  /** The grant behind a live access token. */
  authenticate(token: string): AccessToken | undefined {
    const entry = this.accessTokens.get(token);
    if (!entry) return undefined;
    if (entry.grant.revoked || entry.expiresAt <= this.now()) {
      this.accessTokens.delete(token);
      entry.grant.accessTokens.delete(token);
      return undefined;
    }
    return entry;
  }

  private revokeGrant(grant: Grant): void {
    grant.revoked = true;
    for (const token of grant.accessTokens) this.accessTokens.delete(token);
    grant.accessTokens.clear();
    if (grant.refreshToken) this.refreshTokens.delete(grant.refreshToken);
    this.grants.delete(grant);
  }

  /** Revokes the grant that `token` (access or refresh token) belongs to; answers what it revoked. */
  revokeToken(token: string): { grant: Grant; kind: "refresh_token" | "access_token" } | undefined {
    const byRefresh = this.refreshTokens.get(token);
    const grant = byRefresh ?? this.accessTokens.get(token)?.grant;
    if (!grant) return undefined;
    this.revokeGrant(grant);
    return { grant, kind: byRefresh ? "refresh_token" : "access_token" };
  }

  /** Revokes every grant of an account; answers how many. */
  revokeAccount(email: string): number {
    let count = 0;
    for (const grant of [...this.grants]) {
      if (grant.email === email) {
        this.revokeGrant(grant);
        count++;
      }
    }
    for (const [code, entry] of this.codes) if (entry.email === email) this.codes.delete(code);
    return count;
  }
}
