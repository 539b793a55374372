import type { Credentials } from "google-auth-library";
import type { Config } from "../config";
import { AppError, ReauthRequiredError, ValidationError } from "../errors";
import { consentUrl, createGmailClient, createOAuthClient, grantsGmailRead } from "../gmail/googleClients";
import { CertsUnavailableError, type GoogleIdentity, IdTokenVerifier } from "../gmail/idToken";
import type { GmailWatch } from "../gmail/watch";
import type { Logger } from "../logger";
import type { AccountService } from "../services/AccountService";
import { gmailCall } from "../sync/gmailCall";

export const SCOPE_MISSING_MESSAGE =
  "inbox-sync needs read access to Gmail: tick the Gmail box on Google's consent screen.";

export interface GoogleSignInDeps {
  google: Config["google"];
  accounts: Pick<AccountService, "holdsUsableGrant" | "connect">;
  logger: Logger;
  /** Gmail push: a connected account is watched at once (when push is on). */
  watch?: Pick<GmailWatch, "enabled" | "startQuietly">;
}

/** Where to send the browser, and what it must remember (in cookies) for the callback. */
export interface SignInStart {
  url: string;
  state: string;
  codeVerifier: string;
}

export type SignInOutcome =
  | { kind: "signed_in"; userId: string }
  /** Google kept its refresh token to itself: only the consent screen makes it issue another. */
  | { kind: "consent_needed"; email: string };

/**
 * Signing in with Google (OAuth 2.0 code flow with PKCE, OpenID Connect for who it is), apart
 * from HTTP: the route keeps the cookies, this keeps the talk with Google and the account.
 */
export class GoogleSignIn {
  private readonly identities: IdTokenVerifier;

  constructor(private readonly deps: GoogleSignInDeps) {
    this.identities = new IdTokenVerifier(deps.google);
  }

  /**
   * The state ties the callback to this browser; PKCE keeps the verifier in it too, so a code that
   * leaks (a log, a referrer, another app on the redirect) cannot be exchanged without it.
   */
  async start(options: { state: string; loginHint?: string; forceConsent: boolean }): Promise<SignInStart> {
    const oauth = createOAuthClient(this.deps.google);
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    const url = consentUrl(oauth, options.state, {
      loginHint: options.loginHint,
      forceConsent: options.forceConsent,
      codeChallenge: codeChallenge!,
    });
    return { url, state: options.state, codeVerifier };
  }

  /**
   * The callback's work once its state checked out: exchange the code, check the scopes and the
   * ID token, ask Gmail whose mailbox it is, and connect the account. `consentForced` says the
   * consent screen was already shown, so a missing refresh token is final.
   */
  async complete(input: {
    code: string;
    codeVerifier: string;
    consentForced: boolean;
  }): Promise<SignInOutcome> {
    const oauth = createOAuthClient(this.deps.google);
    let tokens: Credentials;
    try {
      ({ tokens } = await oauth.getToken({ code: input.code, codeVerifier: input.codeVerifier }));
    } catch {
      throw new ValidationError(
        "Google did not accept the authorization code. Sign in again.",
        "oauth_exchange_failed",
      );
    }
    // Google's answer lists what the person granted; unticking Gmail leaves it out.
    if (!grantsGmailRead(tokens.scope))
      throw new ValidationError(SCOPE_MISSING_MESSAGE, "gmail_scope_missing");
    const identity = await this.identify(tokens.id_token);
    oauth.setCredentials(tokens);
    let email: string | null | undefined;
    try {
      const gmail = createGmailClient(oauth, this.deps.google.apiRoot);
      email = (await gmailCall(() => gmail.users.getProfile({ userId: "me" }), { attempts: 3 })).data
        .emailAddress;
    } catch (err) {
      if (err instanceof ReauthRequiredError)
        throw new ValidationError(SCOPE_MISSING_MESSAGE, "gmail_scope_missing");
      this.deps.logger.warn({ err }, "Gmail profile lookup failed during sign-in");
      throw new AppError("gmail_unavailable", "Gmail did not answer. Try signing in again in a moment.", 502);
    }
    if (!email) throw new ValidationError("Gmail did not say which account this is.", "oauth_no_email");

    if (!tokens.refresh_token && !(await this.deps.accounts.holdsUsableGrant(identity))) {
      // A returning Google account whose refresh token we lost, never kept, or saw refused
      // (reauth_required).
      if (input.consentForced) {
        throw new ValidationError(
          "Google did not grant lasting access to Gmail, so syncing in the background cannot work. Sign in again.",
          "oauth_offline_denied",
        );
      }
      return { kind: "consent_needed", email: identity.email };
    }
    const user = await this.deps.accounts.connect(identity, email, tokens);
    // Not awaited: the browser need not wait for Gmail, and a failed watch is retried by the
    // maintenance job that renews watches.
    if (this.deps.watch?.enabled) void this.deps.watch.startQuietly(user.id);
    return { kind: "signed_in", userId: user.id };
  }

  /** Who signed in, from the ID token of Google's token answer (see core/gmail/idToken.ts). */
  private async identify(idToken: string | null | undefined): Promise<GoogleIdentity> {
    try {
      return await this.identities.verify(idToken);
    } catch (err) {
      if (err instanceof CertsUnavailableError) {
        this.deps.logger.warn("Google's signing certificates could not be fetched during sign-in");
        throw new AppError(
          "google_unavailable",
          "Google did not answer. Try signing in again in a moment.",
          502,
        );
      }
      this.deps.logger.warn(
        { reason: err instanceof Error ? err.message : String(err) },
        "ID token refused at sign-in",
      );
      throw new ValidationError(
        "Google's answer did not prove which account signed in. Sign in again.",
        "oauth_identity_invalid",
      );
    }
  }
}
