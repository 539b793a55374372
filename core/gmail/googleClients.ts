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

export function consentUrl(client: OAuth2Client, state: string, loginHint?: string): string {
  return client.generateAuthUrl({
    access_type: "offline",
    // Without a consent prompt Google issues a refresh token only the first time.
    prompt: "consent",
    scope: [GMAIL_SCOPE],
    state,
    include_granted_scopes: true,
    ...(loginHint ? { login_hint: loginHint } : {}),
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
