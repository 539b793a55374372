import { OAuth2Client } from "google-auth-library";
import { type gmail_v1, google } from "googleapis";
import type { Config } from "../config";

/** The one scope we ask for: we only read. */
export const GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly";

/**
 * The only place that knows Google's endpoints, and it learns them from configuration: the same
 * code talks to Google or to any Google-compatible server.
 */
export function createOAuthClient(google: Config["google"]): OAuth2Client {
  return new OAuth2Client({
    clientId: google.clientId,
    clientSecret: google.clientSecret,
    redirectUri: google.redirectUri,
    endpoints: {
      oauth2AuthBaseUrl: google.authUrl,
      oauth2TokenUrl: google.tokenUrl,
      oauth2RevokeUrl: google.revokeUrl,
    },
  });
}

/**
 * Google's consent page. Google issues a refresh token only the first time an account grants
 * offline access to this client, so the consent screen is forced (`prompt=consent`) only when we
 * need a refresh token we do not hold; otherwise a returning user just signs in.
 */
export function consentUrl(
  client: OAuth2Client,
  state: string,
  options: { loginHint?: string; forceConsent?: boolean } = {},
): string {
  return client.generateAuthUrl({
    access_type: "offline",
    scope: [GMAIL_SCOPE],
    state,
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
  return google.gmail({ version: "v1", auth, rootUrl: apiRoot, retry: false, timeout: 30_000 });
}
