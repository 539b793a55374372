import type { Config } from "../core/config";
import {
  createGmailClient,
  createOAuthClient,
  GMAIL_SCOPE,
  type GmailClient,
} from "../core/gmail/googleClients";

/** The Google endpoints of a running simulator, as configuration would give them. */
export function simGoogleConfig(simUrl: string): Config["google"] {
  return {
    clientId: "test-client",
    clientSecret: "test-secret",
    redirectUri: "http://127.0.0.1:9/auth/google/callback",
    apiRoot: `${simUrl}/`,
    authUrl: `${simUrl}/o/oauth2/v2/auth`,
    tokenUrl: `${simUrl}/token`,
    revokeUrl: `${simUrl}/revoke`,
    certsUrl: `${simUrl}/oauth2/v1/certs`,
    issuers: [simUrl],
  };
}

/** A real googleapis Gmail client for `email`, authorised through the simulator's code flow. */
export async function gmailClientFor(
  simUrl: string,
  email: string,
  scope = GMAIL_SCOPE,
): Promise<GmailClient> {
  const google = simGoogleConfig(simUrl);
  const oauth = createOAuthClient(google);
  const consent = await fetch(
    oauth.generateAuthUrl({ access_type: "offline", scope: [scope], login_hint: email }),
    { redirect: "manual" },
  );
  const code = new URL(consent.headers.get("location")!).searchParams.get("code")!;
  const { tokens } = await oauth.getToken(code);
  oauth.setCredentials(tokens);
  return createGmailClient(oauth, google.apiRoot);
}
