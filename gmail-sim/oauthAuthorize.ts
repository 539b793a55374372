/**
 * GET /o/oauth2/v2/auth: checks the request as Google does, then either redirects with a code at
 * once (a `login_hint` naming a known account) or shows the account chooser.
 */
import type { ServerResponse } from "node:http";
import { DEFAULT_SCOPE, normalizeScope, PKCE_VALUE } from "./oauth";
import { chooserPage, errorPage, withParams } from "./oauthPage";
import { redirect, sendHtml } from "./respond";
import type { SimulatorState } from "./state";

/** What a valid authorization request carries. */
interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
}

type Refusal = [error: string, message: string];

/** The request's parameters, or the error Google's page would show for them. */
function checkAuthorizeRequest(query: URLSearchParams): AuthorizeRequest | Refusal {
  const clientId = query.get("client_id");
  const redirectUri = query.get("redirect_uri");
  if (!clientId) return ["invalid_request", "Missing required parameter: client_id"];
  if (!redirectUri) return ["invalid_request", "Missing required parameter: redirect_uri"];
  let parsed: URL;
  try {
    parsed = new URL(redirectUri);
  } catch {
    return ["invalid_request", `Invalid parameter value for redirect_uri: ${redirectUri}`];
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return ["invalid_request", "redirect_uri must be an http or https URL."];
  }
  const responseType = query.get("response_type") ?? "code";
  if (responseType !== "code") return ["unsupported_response_type", `Invalid response_type: ${responseType}`];
  const challengeMethod = query.get("code_challenge_method") ?? undefined;
  if (challengeMethod && challengeMethod !== "S256" && challengeMethod !== "plain") {
    return ["invalid_request", "Invalid code_challenge_method."];
  }
  const challenge = query.get("code_challenge") ?? undefined;
  if (challenge !== undefined && !PKCE_VALUE.test(challenge)) {
    return ["invalid_request", "Invalid code_challenge."];
  }
  return { clientId, redirectUri, challenge, challengeMethod };
}

/** Issues a code for a known account and sends the browser back with it. */
function consent(
  state: SimulatorState,
  res: ServerResponse,
  query: URLSearchParams,
  email: string,
  { clientId, redirectUri, challenge, challengeMethod }: AuthorizeRequest,
): void {
  const scope = normalizeScope((query.get("scope") ?? "").trim() || DEFAULT_SCOPE);
  const nonce = query.get("nonce") ?? undefined;
  const sub = state.identities.subOf(email);
  const code = state.oauth.issueCode({
    email,
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
}

export function handleAuthorize(state: SimulatorState, res: ServerResponse, query: URLSearchParams): void {
  const request = checkAuthorizeRequest(query);
  if (Array.isArray(request)) {
    errorPage(res, ...request);
    return;
  }
  const hint = query.get("login_hint")?.trim().toLowerCase();
  if (hint && state.accounts.has(hint)) {
    consent(state, res, query, hint, request);
    return;
  }
  if (query.get("prompt") === "none") {
    redirect(
      res,
      withParams(request.redirectUri, {
        state: query.get("state") ?? undefined,
        error: "interaction_required",
      }),
    );
    return;
  }
  const counts = new Map<string, number>();
  for (const [email, mailbox] of state.accounts) counts.set(email, mailbox.messagesTotal);
  sendHtml(res, 200, chooserPage(query, [...state.accounts.keys()], counts, hint || undefined));
}
