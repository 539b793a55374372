/**
 * Google's OAuth2 endpoints, as google-auth-library's OAuth2Client uses them:
 *   GET  /o/oauth2/v2/auth  authorization: account chooser, or consent at once for a known login_hint
 *   POST /token             authorization_code and refresh_token grants (form or JSON body;
 *                           client credentials in the body or a Basic header)
 *   POST /revoke            revokes a grant given any of its tokens (query or body `token`)
 *   GET  /tokeninfo         what an access token is worth
 * A grant whose scope holds `openid` also gets an ID token (see identity.ts). PKCE (RFC 7636) is
 * enforced as Google does: a code issued for a `code_challenge` is exchanged only with its
 * `code_verifier`.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { oauthError } from "./errors";
import { accessTokenHash, ID_TOKEN_LIFETIME_SECONDS, type IdTokenSigner, issuerFor } from "./identity";
import { BodyError, escapeHtml, readFields, redirect, sendHtml, sendJson } from "./respond";
import type { SimulatorState } from "./state";

export const DEFAULT_SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
/** Google answers the short scope names with their full URLs (`openid` stays as it is). */
const SCOPE_ALIASES: Record<string, string> = {
  email: "https://www.googleapis.com/auth/userinfo.email",
  profile: "https://www.googleapis.com/auth/userinfo.profile",
};
/** RFC 7636 4.1/4.2: 43 to 128 unreserved characters, for a verifier and (S256 or plain) a challenge. */
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;

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

  exchangeCode(fields: Record<string, string>, identity?: IdTokenContext): TokenOutcome {
    const code = fields.code;
    if (!code)
      return {
        ok: false,
        status: 400,
        error: "invalid_request",
        description: "Missing required parameter: code",
      };
    const entry = this.codes.get(code);
    if (!entry || entry.used || entry.expiresAt <= this.now()) {
      return { ok: false, status: 400, error: "invalid_grant", description: "Malformed auth code." };
    }
    if ((fields.redirect_uri ?? "") !== entry.redirectUri) {
      return { ok: false, status: 400, error: "redirect_uri_mismatch", description: "Bad Request" };
    }
    if (entry.challenge) {
      const verifier = fields.code_verifier ?? "";
      if (!verifier) {
        return { ok: false, status: 400, error: "invalid_grant", description: "Missing code verifier." };
      }
      const computed =
        entry.challengeMethod === "S256"
          ? createHash("sha256").update(verifier).digest("base64url")
          : verifier;
      if (!PKCE_VALUE.test(verifier) || computed !== entry.challenge) {
        return { ok: false, status: 400, error: "invalid_grant", description: "Invalid code verifier." };
      }
    }
    entry.used = true;
    this.codes.delete(code);
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
    const body = this.issueAccessToken(grant);
    if (grant.refreshToken) body.refresh_token = grant.refreshToken;
    if (identity && grant.sub && hasOpenId(grant.scope)) {
      const iat = Math.floor(this.now() / 1000);
      body.id_token = identity.signer.sign({
        iss: identity.issuer,
        azp: grant.clientId,
        aud: grant.clientId,
        sub: grant.sub,
        email: grant.email,
        email_verified: true,
        at_hash: accessTokenHash(body.access_token),
        ...(entry.nonce ? { nonce: entry.nonce } : {}),
        iat,
        exp: iat + ID_TOKEN_LIFETIME_SECONDS,
      });
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

// ---------------------------------------------------------------------------------------------
// Authorization page.

const PAGE_STYLE = `
  :root { color-scheme: light dark; --fg:#1f1f1f; --muted:#5f6368; --bg:#f0f4f9; --card:#fff; --line:#dadce0; --accent:#0b57d0; }
  @media (prefers-color-scheme: dark) { :root { --fg:#e3e3e3; --muted:#a8aab0; --bg:#131314; --card:#1e1f20; --line:#444746; --accent:#a8c7fa; } }
  * { box-sizing: border-box; }
  body { margin:0; min-height:100vh; display:grid; place-items:center; background:var(--bg); color:var(--fg);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { background:var(--card); border-radius:28px; padding:36px 40px; width:min(460px, 94vw); box-shadow:0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size:26px; font-weight:400; margin:8px 0 4px; }
  p { margin:0 0 20px; color:var(--muted); }
  .badge { font-size:12px; letter-spacing:.04em; text-transform:uppercase; color:var(--muted); }
  ul { list-style:none; margin:0 0 24px; padding:0; border-top:1px solid var(--line); }
  li { border-bottom:1px solid var(--line); }
  a.account { display:flex; align-items:center; gap:14px; padding:12px 8px; color:inherit; text-decoration:none; border-radius:8px; }
  a.account:hover, a.account:focus-visible { background:color-mix(in srgb, var(--accent) 10%, transparent); outline:none; }
  a.account:focus-visible { box-shadow:0 0 0 2px var(--accent); }
  .avatar { width:36px; height:36px; border-radius:50%; display:grid; place-items:center; color:#fff; font-weight:600; flex:none; }
  .who { display:flex; flex-direction:column; min-width:0; }
  .who strong { font-weight:500; } .who span { color:var(--muted); font-size:13px; overflow:hidden; text-overflow:ellipsis; }
  form { display:flex; gap:8px; flex-wrap:wrap; align-items:flex-end; }
  label { display:flex; flex-direction:column; gap:4px; flex:1 1 220px; font-size:13px; color:var(--muted); }
  input[type=email] { font:inherit; padding:10px 12px; border:1px solid var(--line); border-radius:8px; background:transparent; color:inherit; }
  button, .cancel { font:inherit; padding:10px 20px; border-radius:20px; border:0; cursor:pointer; }
  button { background:var(--accent); color:var(--card); }
  .cancel { display:inline-block; margin-top:18px; color:var(--accent); text-decoration:none; padding-left:0; }
  .notice { padding:10px 12px; border-radius:8px; background:color-mix(in srgb, #d93025 12%, transparent); color:var(--fg); margin-bottom:16px; }
`;

const AVATAR_COLORS = ["#1a73e8", "#d93025", "#188038", "#e37400", "#9334e6", "#007b83"];

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

function errorPage(res: ServerResponse, error: string, message: string): void {
  sendHtml(
    res,
    400,
    page(
      `Error 400: ${error}`,
      `<div class="badge">Gmail simulator</div><h1>Access blocked: authorization error</h1>
<p role="alert"><strong>Error 400: ${escapeHtml(error)}</strong><br>${escapeHtml(message)}</p>`,
    ),
  );
}

function withParams(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

function chooserPage(
  query: URLSearchParams,
  emails: string[],
  counts: Map<string, number>,
  unknownHint?: string,
): string {
  const clientId = query.get("client_id") ?? "";
  const hidden = [...query.entries()]
    .filter(([key]) => key !== "login_hint")
    .map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`)
    .join("");
  const items = emails
    .map((email, i) => {
      const params = new URLSearchParams(query);
      params.set("login_hint", email);
      const color = AVATAR_COLORS[i % AVATAR_COLORS.length];
      const initial = escapeHtml(email[0]?.toUpperCase() ?? "?");
      const count = counts.get(email) ?? 0;
      return `<li><a class="account" data-email="${escapeHtml(email)}" href="/o/oauth2/v2/auth?${escapeHtml(params.toString())}">
<span class="avatar" style="background:${color}" aria-hidden="true">${initial}</span>
<span class="who"><strong>${escapeHtml(email)}</strong><span>${count.toLocaleString("en-US")} messages</span></span></a></li>`;
    })
    .join("\n");
  const redirectUri = query.get("redirect_uri") ?? "";
  const cancel = withParams(redirectUri, { error: "access_denied", state: query.get("state") ?? undefined });
  const notice = unknownHint
    ? `<div class="notice" role="alert">There is no account ${escapeHtml(unknownHint)} on this simulator. Choose one below.</div>`
    : "";
  return page(
    "Sign in - Gmail simulator",
    `<div class="badge">Gmail simulator</div>
<h1 id="title">Choose an account</h1>
<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${notice}
<nav aria-labelledby="title"><ul>
${items || "<li><p>No accounts yet. Create one with POST /sim/accounts.</p></li>"}
</ul></nav>
<form method="get" action="/o/oauth2/v2/auth">${hidden}
<label for="login_hint">Or use another account<input id="login_hint" type="email" name="login_hint" required autocomplete="email" placeholder="name@example.com"></label>
<button type="submit">Next</button></form>
<a class="cancel" href="${escapeHtml(cancel)}">Cancel</a>`,
  );
}

export function handleAuthorize(state: SimulatorState, res: ServerResponse, query: URLSearchParams): void {
  const clientId = query.get("client_id");
  const redirectUri = query.get("redirect_uri");
  if (!clientId) {
    errorPage(res, "invalid_request", "Missing required parameter: client_id");
    return;
  }
  if (!redirectUri) {
    errorPage(res, "invalid_request", "Missing required parameter: redirect_uri");
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(redirectUri);
  } catch {
    errorPage(res, "invalid_request", `Invalid parameter value for redirect_uri: ${redirectUri}`);
    return;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    errorPage(res, "invalid_request", "redirect_uri must be an http or https URL.");
    return;
  }
  const responseType = query.get("response_type") ?? "code";
  if (responseType !== "code") {
    errorPage(res, "unsupported_response_type", `Invalid response_type: ${responseType}`);
    return;
  }
  const challengeMethod = query.get("code_challenge_method") ?? undefined;
  if (challengeMethod && challengeMethod !== "S256" && challengeMethod !== "plain") {
    errorPage(res, "invalid_request", "Invalid code_challenge_method.");
    return;
  }
  const challenge = query.get("code_challenge") ?? undefined;
  if (challenge !== undefined && !PKCE_VALUE.test(challenge)) {
    errorPage(res, "invalid_request", "Invalid code_challenge.");
    return;
  }

  const hint = query.get("login_hint")?.trim().toLowerCase();
  if (hint && state.accounts.has(hint)) {
    const scope = normalizeScope((query.get("scope") ?? "").trim() || DEFAULT_SCOPE);
    const nonce = query.get("nonce") ?? undefined;
    const sub = state.identities.subOf(hint);
    const code = state.oauth.issueCode({
      email: hint,
      ...(sub ? { sub } : {}),
      ...(nonce ? { nonce } : {}),
      clientId,
      redirectUri,
      scope,
      offline: query.get("access_type") === "offline",
      forceConsent: (query.get("prompt") ?? "").split(" ").includes("consent"),
      ...(challenge ? { challenge, challengeMethod: challengeMethod ?? "plain" } : {}),
    });
    redirect(
      res,
      withParams(redirectUri, {
        state: query.get("state") ?? undefined,
        code,
        scope,
        authuser: "0",
        prompt: "consent",
      }),
    );
    return;
  }
  if (query.get("prompt") === "none") {
    redirect(
      res,
      withParams(redirectUri, { state: query.get("state") ?? undefined, error: "interaction_required" }),
    );
    return;
  }
  const counts = new Map<string, number>();
  for (const [email, mailbox] of state.accounts) counts.set(email, mailbox.messagesTotal);
  sendHtml(res, 200, chooserPage(query, [...state.accounts.keys()], counts, hint || undefined));
}

// ---------------------------------------------------------------------------------------------
// Token, revoke, tokeninfo.

function clientFromBasic(req: IncomingMessage): { id?: string; secret?: string } {
  const header = req.headers.authorization ?? "";
  if (!header.toLowerCase().startsWith("basic ")) return {};
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { id: decodeURIComponent(decoded) };
  return {
    id: decodeURIComponent(decoded.slice(0, colon)),
    secret: decodeURIComponent(decoded.slice(colon + 1)),
  };
}

async function fieldsOrError(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Record<string, string> | undefined> {
  try {
    return await readFields(req);
  } catch (error) {
    const status = error instanceof BodyError ? error.status : 400;
    sendJson(
      res,
      status,
      oauthError("invalid_request", error instanceof Error ? error.message : "Bad Request"),
    );
    return undefined;
  }
}

export async function handleToken(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const fields = await fieldsOrError(req, res);
  if (!fields) return;
  const clientId = fields.client_id || clientFromBasic(req).id;
  if (!clientId) {
    sendJson(res, 400, oauthError("invalid_request", "Could not determine client ID from request."));
    return;
  }
  state.oauth.clientIds.add(clientId);
  const grantType = fields.grant_type;
  let outcome: TokenOutcome;
  if (grantType === "authorization_code") {
    state.stats.call("oauth.exchange");
    outcome = state.oauth.exchangeCode(fields, {
      issuer: issuerFor(req, state.issuer),
      signer: state.signer,
    });
  } else if (grantType === "refresh_token") {
    state.stats.call("oauth.refresh");
    outcome = state.oauth.refresh(fields);
  } else if (!grantType) {
    sendJson(res, 400, oauthError("unsupported_grant_type", "Invalid grant_type: "));
    return;
  } else {
    sendJson(res, 400, oauthError("unsupported_grant_type", `Invalid grant_type: ${grantType}`));
    return;
  }
  if (outcome.ok) {
    sendJson(res, 200, outcome.body, {
      "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
      Pragma: "no-cache",
    });
  } else {
    sendJson(res, outcome.status, oauthError(outcome.error, outcome.description));
  }
}

export async function handleRevoke(
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const fields = await fieldsOrError(req, res);
  if (!fields) return;
  state.stats.call("oauth.revoke");
  const token = query.get("token") ?? fields.token;
  if (!token) {
    sendJson(res, 400, oauthError("invalid_request", "Missing required parameter: token"));
    return;
  }
  const revoked = state.oauth.revokeToken(token);
  if (!revoked) {
    sendJson(res, 400, oauthError("invalid_token", "Token expired or revoked"));
    return;
  }
  state.stats.revoked({
    email: revoked.grant.email,
    clientId: revoked.grant.clientId,
    tokenType: revoked.kind,
    inBody: !query.has("token"),
  });
  sendJson(res, 200, {});
}

export function handleTokenInfo(state: SimulatorState, res: ServerResponse, query: URLSearchParams): void {
  const token = query.get("access_token") ?? "";
  const entry = state.oauth.authenticate(token);
  if (!entry) {
    sendJson(res, 400, oauthError("invalid_token", "Invalid Value"));
    return;
  }
  const expiresIn = Math.max(0, Math.floor((entry.expiresAt - Date.now()) / 1000));
  sendJson(res, 200, {
    azp: entry.grant.clientId,
    aud: entry.grant.clientId,
    scope: entry.grant.scope,
    exp: String(Math.floor(entry.expiresAt / 1000)),
    expires_in: String(expiresIn),
    ...(entry.grant.sub ? { sub: entry.grant.sub } : {}),
    email: entry.grant.email,
    email_verified: "true",
    access_type: entry.grant.refreshToken ? "offline" : "online",
  });
}
