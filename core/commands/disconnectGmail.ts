import { type RevokeOutcome, revokeGrant } from "../gmail/revokeGrant";
import type { LeavingDeps } from "./leaving";

/**
 * "Disconnect Gmail": revokes the grant at Google, then forgets the stored tokens and marks the
 * account disconnected. The mail already copied stays; signing in again reconnects. When Google
 * cannot be reached nothing is forgotten (RevokeFailedError, 502), so the user can try again
 * rather than be left with a grant we can no longer revoke.
 */
export async function disconnectGmail(
  deps: Pick<LeavingDeps, "accounts" | "revokeUrl" | "logger" | "watch">,
  userId: string,
): Promise<RevokeOutcome | "no_account"> {
  await deps.watch?.stopQuietly(userId);
  let outcome: RevokeOutcome | "no_account" = "no_account";
  await deps.accounts.disconnect(userId, async (tokens) => {
    outcome = await revokeGrant(deps.revokeUrl, tokens);
  });
  deps.logger.info({ userId, outcome }, "gmail disconnected");
  return outcome;
}
