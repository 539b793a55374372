import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../errors";
import type { StoredTokens } from "./TokenCipher";

export type RevokeOutcome = "revoked" | "already_gone" | "nothing_held";

/** Google could not be reached to revoke the grant; nothing was forgotten, so it can be tried again. */
export class RevokeFailedError extends AppError {
  constructor() {
    super("revoke_failed", "Google did not answer the request to revoke access. Try again in a moment.", 502);
  }
}

/**
 * Revokes a user's Gmail grant at Google's revocation endpoint. Revoking the refresh token ends
 * the whole grant, its access tokens included. google-auth-library's revokeToken puts the token
 * in the URL's query, where proxies and access logs keep it; Google also takes it as a form body
 * (`token=…`), which is what this sends. A 400 means Google no longer knows the token (already
 * revoked, or expired): the grant is gone either way.
 */
export async function revokeGrant(
  revokeUrl: string,
  tokens: StoredTokens | null,
  options: { attempts?: number; timeoutMs?: number } = {},
): Promise<RevokeOutcome> {
  const token = tokens?.refresh_token || tokens?.access_token;
  if (!token) return "nothing_held";
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(revokeUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => {});
      if (res.ok) return "revoked";
      if (res.status === 400) return "already_gone";
      if (res.status < 500 && res.status !== 429) throw new RevokeFailedError();
    } catch (err) {
      if (err instanceof RevokeFailedError) throw err;
      // A network failure or timeout: worth another try, like a 5xx or 429.
    }
    if (attempt >= attempts) throw new RevokeFailedError();
    await sleep(250 * 2 ** (attempt - 1));
  }
}
