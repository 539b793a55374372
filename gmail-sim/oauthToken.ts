/**
 * Google's token-side endpoints: POST /token (authorization_code and refresh_token grants; client
 * credentials in the body or a Basic header), POST /revoke and GET /tokeninfo.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { oauthError } from "./errors";
import { issuerFor } from "./identity";
import type { TokenOutcome } from "./oauth";
import { BodyError, readFields, sendJson } from "./respond";
import type { SimulatorState } from "./state";

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
