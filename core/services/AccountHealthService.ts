import { AppError, GmailUnavailableError, NotFoundError, ReauthRequiredError } from "../errors";
import type { GmailWatch } from "../gmail/watch";
import { type AccountHealth, accountHealth } from "../health/accountHealth";
import type {
  AccountHealthRepository,
  AccountHealthRow,
  AccountSummary,
} from "../repositories/accountHealth.repository";
import type { TaskOptions } from "../repositories/task.repository";
import type { GmailQuotaBudget } from "../sync/RedisQuotaBudget";
import type { SyncRequest } from "./TaskService";

/** A task that was created or joined, and what it does. */
export interface StartedTask {
  task: { id: string; state: string };
  joined: boolean;
  options: TaskOptions;
}

/** What a completeness check asks of the task system: the mirror's own scope, listed again. */
export const CHECK_REQUEST: SyncRequest = { options: { current: true, check: true }, strict: true };

export interface AccountHealthDeps {
  repo: Pick<AccountHealthRepository, "accountsOf" | "healthOf">;
  /** Today's daily budget; null where no quota is kept. */
  quota: Pick<GmailQuotaBudget, "dayUsage"> | null;
  watch: Pick<GmailWatch, "enabled" | "start">;
  /** Marks an account whose grant Gmail refused during a renewal (as a sync would). */
  markReauthRequired: (userId: string) => Promise<void>;
  /** Creates (or joins) the owner's task and hands it to a runner, as POST /api/emails/sync does. */
  startTask: (userId: string, request: SyncRequest) => Promise<StartedTask>;
  now?: () => number;
}

/** Gmail push is off in this deployment: there is no watch to renew. */
export class PushDisabledError extends AppError {
  constructor() {
    super(
      "push_disabled",
      "Gmail push is not set up here (GMAIL_PUSH_TOPIC): there is no watch to renew.",
      409,
    );
  }
}

/**
 * The accounts of a person and each one's health (docs/health.md), and renewing a watch by hand.
 * An account id that is not the caller's answers 404 exactly like one that does not exist.
 */
export class AccountHealthService {
  constructor(private readonly deps: AccountHealthDeps) {}

  list(userId: string): Promise<AccountSummary[]> {
    return this.deps.repo.accountsOf(userId);
  }

  async health(userId: string, accountId: string): Promise<AccountHealth> {
    const row = await this.owned(userId, accountId);
    const quota = (await this.deps.quota?.dayUsage(row.userId)) ?? null;
    return accountHealth({
      row,
      pushOn: this.deps.watch.enabled,
      quota,
      now: (this.deps.now ?? Date.now)(),
    });
  }

  /**
   * Calls `users.watch` for the account now (what the hourly renewal does), then answers its
   * health. A failure is counted by the watch (the health shows it) and answered as Gmail's.
   */
  async renewWatch(userId: string, accountId: string): Promise<AccountHealth> {
    const row = await this.owned(userId, accountId);
    if (!this.deps.watch.enabled) throw new PushDisabledError();
    if (row.state !== "connected") throw new ReauthRequiredError();
    try {
      await this.deps.watch.start(row.userId);
    } catch (err) {
      if (err instanceof ReauthRequiredError) {
        await this.deps.markReauthRequired(row.userId);
        throw err;
      }
      throw new GmailUnavailableError(
        `Gmail did not renew the watch: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return this.health(userId, accountId);
  }

  /**
   * Starts a completeness check of the account (docs/health.md), or answers the one already open.
   * Never two at once: an open sync of other options is refused (409 sync_in_progress) and the
   * caller tries again when it ends.
   */
  async startCheck(userId: string, accountId: string): Promise<StartedTask> {
    const row = await this.owned(userId, accountId);
    if (row.state !== "connected") throw new ReauthRequiredError();
    return this.deps.startTask(row.userId, CHECK_REQUEST);
  }

  private async owned(userId: string, accountId: string): Promise<AccountHealthRow> {
    const row = await this.deps.repo.healthOf(userId, accountId);
    if (!row) throw new NotFoundError("account");
    return row;
  }
}
