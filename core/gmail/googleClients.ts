// The Gmail client alone: `googleapis` loads every Google API's generated client (~100 MB of RSS).
import { gmail, type gmail_v1 } from "@googleapis/gmail";
import { CodeChallengeMethod, OAuth2Client } from "google-auth-library";
import type { Config } from "../config";

/** The one Gmail scope we ask for: we only read. */
export const GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
/**
 * Besides Gmail: `openid` brings an ID token naming the Google account by its stable id (`sub`),
 * and `email` puts the verified address in it.
 */
export const SIGN_IN_SCOPES = ["openid", "email", GMAIL_SCOPE];

/** Whether Google's `scope` answer (space-separated) holds read access to Gmail. */
export function grantsGmailRead(scope: string | null | undefined): boolean {
  return (scope ?? "").split(/\s+/).includes(GMAIL_SCOPE);
}

/**
 * The only place that knows Google's endpoints, and it learns them from configuration: the same
 * code talks to Google or to any Google-compatible server.
 */
export function createOAuthClient(google: Config["google"]): OAuth2Client {
  return new OAuth2Client({
    clientId: google.clientId,
    clientSecret: google.clientSecret,
    redirectUri: google.redirectUri,
    issuers: google.issuers,
    endpoints: {
      oauth2AuthBaseUrl: google.authUrl,
      oauth2TokenUrl: google.tokenUrl,
      oauth2RevokeUrl: google.revokeUrl,
      oauth2FederatedSignonPemCertsUrl: google.certsUrl,
    },
  });
}

/**
 * Google's consent page. Google issues a refresh token only the first time an account grants
 * offline access to this client, so the consent screen is forced (`prompt=consent`) only when we
 * need a refresh token we do not hold, or hold one Google no longer honours; otherwise a
 * returning user just signs in. `codeChallenge` is PKCE's S256 challenge (RFC 7636): the code
 * Google sends back is worth nothing without the verifier this browser holds.
 */
export function consentUrl(
  client: OAuth2Client,
  state: string,
  options: { loginHint?: string; forceConsent?: boolean; codeChallenge: string },
): string {
  return client.generateAuthUrl({
    access_type: "offline",
    scope: SIGN_IN_SCOPES,
    state,
    code_challenge: options.codeChallenge,
    code_challenge_method: CodeChallengeMethod.S256,
    include_granted_scopes: true,
    ...(options.forceConsent ? { prompt: "consent" } : {}),
    ...(options.loginHint ? { login_hint: options.loginHint } : {}),
  });
}

export type GmailClient = gmail_v1.Gmail;

/**
 * A Gmail v1 client. Retries are ours (core/sync/gmailCall), so the library's own are off: two
 * layers of retry would multiply attempts and hide them from our metrics.
 */
export function createGmailClient(auth: OAuth2Client, apiRoot: string): GmailClient {
  const client = gmail({ version: "v1", auth, rootUrl: apiRoot, retry: false, timeout: 30_000 });
  made.set(client, { auth, apiRoot });
  return client;
}

/** What each client made here talks with, for transports beside it (core/gmail/GmailBatch.ts). */
const made = new WeakMap<GmailClient, { auth: OAuth2Client; apiRoot: string }>();

/**
 * The credentials and root URL of a client createGmailClient made; undefined for any other (a
 * test's fake). The batch endpoint is reached at the same root with the same credentials.
 */
export function connectionOf(client: GmailClient): { auth: OAuth2Client; apiRoot: string } | undefined {
  return made.get(client);
}
