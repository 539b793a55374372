import type { GmailPushSettings } from "../config";
import { ReauthRequiredError } from "../errors";
import type { Logger } from "../logger";
import type { AccountRepository } from "../repositories/account.repository";
import type { AccountHealthRepository } from "../repositories/accountHealth.repository";
import type { AccountService } from "../services/AccountService";
import { gmailCall } from "../sync/gmailCall";

/** Gmail's watch lasts 7 days; one lapsing within this long is renewed by the maintenance job. */
export const WATCH_RENEW_WITHIN_MS = 24 * 3_600_000;
/** A watch call is cheap to retry but must not hold a sign-in or a maintenance run for long. */
const WATCH_RETRY = { attempts: 3, baseDelayMs: 500, maxDelayMs: 4_000 };

export interface WatchDeps {
  accounts: Pick<AccountService, "gmailFor" | "markReauthRequired">;
  repo: Pick<AccountRepository, "saveWatch" | "forgetWatch" | "watchOf" | "watchesLapsingBefore">;
  /** Where failed watch calls are counted for the account's health view (a success clears them). */
  health: Pick<AccountHealthRepository, "watchFailed">;
  push: GmailPushSettings;
  /** The deployment's queue prefix: renewal covers its own accounts (AccountRepository.watchesLapsingBefore). */
  queuePrefix: string;
  logger: Logger;
}

/** What `renewLapsing` did. */
export interface RenewReport {
  renewed: number;
  failed: number;
}

/**
 * Gmail push for each connected account: `users.watch` makes Gmail publish the mailbox's changes
 * to our Pub/Sub topic for 7 days; it is called when an account connects and renewed before it
 * lapses; `users.stop` ends it when the account leaves. Every call goes through the user's own
 * Gmail client (their grant), as Gmail requires.
 */
export class GmailWatch {
  constructor(private readonly deps: WatchDeps) {}

  get enabled(): boolean {
    return this.deps.push.topic !== null;
  }

  /**
   * Watches the user's mailbox (again): a new watch replaces the old one at Gmail. A failure other
   * than a refused grant is counted for the account's health until a call succeeds.
   */
  async start(userId: string): Promise<{ expiration: Date } | null> {
    const { topic } = this.deps.push;
    if (!topic) return null;
    try {
      return await this.watch(userId, topic);
    } catch (err) {
      if (!(err instanceof ReauthRequiredError)) await this.noteFailure(userId, err);
      throw err;
    }
  }

  private async watch(userId: string, topic: string): Promise<{ expiration: Date }> {
    const { labelIds, labelFilterBehavior } = this.deps.push;
    const gmail = await this.deps.accounts.gmailFor(userId);
    const { data } = await gmailCall(
      () =>
        gmail.users.watch({
          userId: "me",
          requestBody: {
            topicName: topic,
            ...(labelIds.length > 0 ? { labelIds, labelFilterBehavior } : {}),
          },
        }),
      WATCH_RETRY,
    );
    const expiration = new Date(Number(data.expiration));
    if (!Number.isFinite(expiration.getTime())) throw new Error("users.watch answered no expiration");
    await this.deps.repo.saveWatch(userId, data.historyId ?? null, expiration);
    return { expiration };
  }

  /** `start`, for a path that must not fail because of it (sign-in): the renewal job retries. */
  async startQuietly(userId: string): Promise<void> {
    try {
      await this.start(userId);
    } catch (err) {
      this.deps.logger.warn({ userId, err }, "gmail watch failed; the renewal job tries again");
    }
  }

  /**
   * Ends the watch (disconnect, account deletion), best effort: a watch we cannot stop lapses
   * within 7 days, and pushes for an account we no longer sync are acknowledged and dropped.
   */
  async stopQuietly(userId: string): Promise<void> {
    // Only a watch we made: without push (or for an account never watched) there is nothing to stop.
    const held = await this.deps.repo.watchOf(userId).catch(() => null);
    if (!held?.expiration) return;
    try {
      const gmail = await this.deps.accounts.gmailFor(userId);
      await gmailCall(() => gmail.users.stop({ userId: "me" }), WATCH_RETRY);
    } catch (err) {
      this.deps.logger.info({ userId, err }, "gmail watch not stopped; it lapses by itself");
    }
    await this.deps.repo.forgetWatch(userId).catch(() => {});
  }

  /**
   * Renews every connected account's watch that lapses within `withinMs` (or that it never had),
   * page by page. A revoked grant marks the account for re-consent, as a sync would.
   */
  async renewLapsing(withinMs = WATCH_RENEW_WITHIN_MS, pageSize = 200): Promise<RenewReport> {
    const report: RenewReport = { renewed: 0, failed: 0 };
    if (!this.enabled) return report;
    const before = new Date(Date.now() + withinMs);
    let after: string | null = null;
    for (;;) {
      const userIds = await this.deps.repo.watchesLapsingBefore(
        this.deps.queuePrefix,
        before,
        after,
        pageSize,
      );
      if (userIds.length === 0) return report;
      for (const userId of userIds) {
        try {
          await this.start(userId);
          report.renewed++;
        } catch (err) {
          report.failed++;
          if (err instanceof ReauthRequiredError) await this.deps.accounts.markReauthRequired(userId);
          else this.deps.logger.warn({ userId, err }, "gmail watch renewal failed");
        }
      }
      after = userIds.at(-1)!;
    }
  }

  /** Counted for the health view; a count that cannot be written must not stop the renewals. */
  private async noteFailure(userId: string, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    await this.deps.health.watchFailed(userId, message).catch(() => {});
  }
}

/** The watch of a process, from what every process holds. */
export function gmailWatchOf(ctx: {
  accounts: AccountService;
  repos: { accounts: AccountRepository; health: AccountHealthRepository };
  config: { gmailPush: GmailPushSettings; queuePrefix: string };
  logger: Logger;
}): GmailWatch {
  // Read when used: a routing-only app (the OpenAPI test) builds routes from a context without them.
  return new GmailWatch({
    get accounts() {
      return ctx.accounts;
    },
    get repo() {
      return ctx.repos.accounts;
    },
    get health() {
      return ctx.repos.health;
    },
    push: ctx.config.gmailPush,
    queuePrefix: ctx.config.queuePrefix,
    logger: ctx.logger,
  });
}
