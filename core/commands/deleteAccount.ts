import { rooms } from "../events";
import { type RevokeOutcome, revokeGrant } from "../gmail/revokeGrant";
import type { LeavingDeps } from "./leaving";

/** Finished jobs stay in Redis a day at most (core/queue/SyncQueue.ts); older tasks have no job left. */
const JOB_RETENTION_MS = 25 * 3_600_000;

export interface DeleteAccountResult {
  revoke: RevokeOutcome | "no_account" | "failed";
  jobsRemoved: number;
}

/**
 * "Delete my account": revokes the Gmail grant, deletes the user and everything of theirs, cancels
 * their queued sync and closes their sockets on every node.
 *
 * - The user's row goes, and with it (ON DELETE CASCADE) their Gmail account, emails, sync tasks,
 *   sessions and API tokens, in one statement.
 * - A sync of theirs that is running stops: its task row is gone, so its lease cannot be renewed,
 *   and the revoked grant fails its next Gmail call.
 * - Their jobs are removed from the queue, so a queued sync never starts. An active job is locked
 *   by its worker and cannot be removed; it ends as described above.
 * - If Google cannot be reached the account is deleted anyway: the person asked to leave, and the
 *   refresh token we forget can no longer be used by anyone. The grant then stays listed in their
 *   Google account until they remove it there.
 */
export async function deleteAccount(deps: LeavingDeps, userId: string): Promise<DeleteAccountResult> {
  await deps.watch?.stopQuietly(userId);
  let revoke: DeleteAccountResult["revoke"] = "no_account";
  await deps.accounts.disconnect(userId, async (tokens) => {
    try {
      revoke = await revokeGrant(deps.revokeUrl, tokens);
    } catch (err) {
      revoke = "failed";
      deps.logger.warn({ userId, err }, "account deletion: Google did not revoke the grant");
    }
  });

  const taskIds = await deps.accounts.deleteUser(userId, new Date(Date.now() - JOB_RETENTION_MS));

  let jobsRemoved = 0;
  if (deps.queue) {
    for (const id of taskIds) {
      try {
        if (await deps.queue.remove(id)) jobsRemoved++;
      } catch {
        // Locked by a worker (running) or Redis is away: that run stops on its own (see above).
      }
    }
  }
  deps.disconnectSockets([rooms.user(userId)]);
  deps.logger.info({ userId, revoke, jobsRemoved }, "account deleted");
  return { revoke, jobsRemoved };
}
