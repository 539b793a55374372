import { QueryTypes, type Sequelize } from "sequelize";
import type { GmailAccountStatus } from "../db/models/GmailAccount";
import type { FullSyncReason } from "../sync/SyncOptions";

export type { FullSyncReason };

/** One connected Gmail account as `GET /api/accounts` lists it. */
export interface AccountSummary {
  id: string;
  email: string;
  state: GmailAccountStatus;
  lastSyncAt: Date | null;
  messages: number;
}

/** Everything the health view reads of one account, as stored (migrations 0009 and 0014). */
export interface AccountHealthRow extends AccountSummary {
  userId: string;
  historyId: string | null;
  watchExpiration: Date | null;
  lastPushAt: Date | null;
  watchFailures: number;
  watchFailingSince: Date | null;
  watchError: string | null;
  lastSyncKind: "full" | "incremental" | null;
  lastFullSyncAt: Date | null;
  lastFullSyncReason: FullSyncReason | null;
  gmailTotal: number | null;
  gmailTotalAt: Date | null;
  lastCheckAt: Date | null;
  lastCheck: CheckFinding | null;
}

/** What a completeness check found, and so repaired: ids Gmail has that were missing, and ones it no longer has. */
export interface CheckFinding {
  taskId: string;
  missing: number;
  extra: number;
}

/** How many connected accounts are in each state that needs a look (Prometheus gauges). */
export interface HealthCounts {
  connected: number;
  reauthRequired: number;
  watchLapsed: number;
  watchFailing: number;
}

const HEALTH_COLUMNS = `g.id, g.user_id, g.email, g.status, g.last_sync_at, g.email_count, g.history_id,
  g.watch_expiration, g.last_push_at, g.watch_failures, g.watch_failing_since, g.watch_error,
  g.last_sync_kind, g.last_full_sync_at, g.last_full_sync_reason, g.gmail_total, g.gmail_total_at, g.last_check_at, g.last_check`;

interface HealthRecord {
  id: string;
  user_id: string;
  email: string;
  status: GmailAccountStatus;
  last_sync_at: Date | null;
  email_count: number;
  history_id: string | null;
  watch_expiration: Date | null;
  last_push_at: Date | null;
  watch_failures: number;
  watch_failing_since: Date | null;
  watch_error: string | null;
  last_sync_kind: "full" | "incremental" | null;
  last_full_sync_at: Date | null;
  last_full_sync_reason: FullSyncReason | null;
  gmail_total: number | null;
  gmail_total_at: Date | null;
  last_check_at: Date | null;
  last_check: CheckFinding | null;
}

const toRow = (r: HealthRecord): AccountHealthRow => ({
  id: r.id,
  userId: r.user_id,
  email: r.email,
  state: r.status,
  lastSyncAt: r.last_sync_at,
  messages: Number(r.email_count),
  historyId: r.history_id,
  watchExpiration: r.watch_expiration,
  lastPushAt: r.last_push_at,
  watchFailures: Number(r.watch_failures),
  watchFailingSince: r.watch_failing_since,
  watchError: r.watch_error,
  lastSyncKind: r.last_sync_kind,
  lastFullSyncAt: r.last_full_sync_at,
  lastFullSyncReason: r.last_full_sync_reason,
  gmailTotal: r.gmail_total === null ? null : Number(r.gmail_total),
  gmailTotalAt: r.gmail_total_at,
  lastCheckAt: r.last_check_at,
  lastCheck: r.last_check,
});

/** Gmail's words on a failed watch are kept for the owner to read, never more than this. */
const MAX_WATCH_ERROR = 300;

/**
 * What is known of each Gmail account's health: the accounts list, the health view's row, and the
 * facts that push, watch renewal and a sync's end record (migration 0014). Every read is scoped by
 * the owner: an account id of someone else finds nothing.
 */
export class AccountHealthRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async accountsOf(userId: string): Promise<AccountSummary[]> {
    const rows = await this.sequelize.query<HealthRecord>(
      `SELECT ${HEALTH_COLUMNS} FROM gmail_accounts g WHERE g.user_id = :userId ORDER BY g.created_at, g.id`,
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
    return rows.map(toRow).map(({ id, email, state, lastSyncAt, messages }) => ({
      id,
      email,
      state,
      lastSyncAt,
      messages,
    }));
  }

  /** The account `accountId` if `userId` owns it; null otherwise (or for an id that is not a uuid). */
  async healthOf(userId: string, accountId: string): Promise<AccountHealthRow | null> {
    const [row] = await this.sequelize.query<HealthRecord>(
      `SELECT ${HEALTH_COLUMNS} FROM gmail_accounts g
       WHERE g.user_id = :userId AND g.id::text = :accountId`,
      { replacements: { userId, accountId }, type: QueryTypes.SELECT },
    );
    return row ? toRow(row) : null;
  }

  /**
   * A push for the mailbox `address` arrived: its connected accounts note when, and are answered
   * (one statement: the push path asked for them anyway).
   */
  async pushArrived(address: string): Promise<string[]> {
    const [rows] = (await this.sequelize.query(
      `UPDATE gmail_accounts SET last_push_at = now()
       WHERE email = :address AND status = 'connected' RETURNING user_id`,
      { replacements: { address: address.trim().toLowerCase() } },
    )) as [Array<{ user_id: string }>, unknown];
    return rows.map((r) => r.user_id);
  }

  /** A watch call failed: counted with the ones before it until one succeeds (AccountRepository.saveWatch). */
  async watchFailed(userId: string, message: string): Promise<void> {
    await this.sequelize.query(
      `UPDATE gmail_accounts SET watch_failures = watch_failures + 1,
              watch_failing_since = COALESCE(watch_failing_since, now()), watch_error = :message
       WHERE user_id = :userId`,
      { replacements: { userId, message: message.slice(0, MAX_WATCH_ERROR) } },
    );
  }

  /** A sync finished: its kind, and for a full one why and how big Gmail said the mailbox was. */
  async syncFinished(
    userId: string,
    sync: {
      mode: "full" | "incremental";
      fullBecause?: FullSyncReason;
      gmailTotal?: number;
      check?: CheckFinding;
    },
  ): Promise<void> {
    await this.sequelize.query(
      `UPDATE gmail_accounts SET last_sync_kind = :mode,
              last_full_sync_at = CASE WHEN :mode = 'full' THEN now() ELSE last_full_sync_at END,
              last_full_sync_reason = CASE WHEN :mode = 'full' THEN :reason ELSE last_full_sync_reason END,
              gmail_total = COALESCE(:total, gmail_total),
              gmail_total_at = CASE WHEN :total IS NULL THEN gmail_total_at ELSE now() END,
              last_check_at = CASE WHEN :check IS NULL THEN last_check_at ELSE now() END,
              last_check = COALESCE(CAST(:check AS jsonb), last_check)
       WHERE user_id = :userId`,
      {
        replacements: {
          userId,
          mode: sync.mode,
          reason: sync.fullBecause ?? null,
          total: sync.gmailTotal ?? null,
          check: sync.check ? JSON.stringify(sync.check) : null,
        },
      },
    );
  }

  /** Accounts in each state that needs a look; a watch counts as failing after `failingFor` ms. */
  async counts(now: Date, failingFor: number): Promise<HealthCounts> {
    const [row] = await this.sequelize.query<{
      connected: string;
      reauth: string;
      lapsed: string;
      failing: string;
    }>(
      `SELECT count(*) FILTER (WHERE status = 'connected') AS connected,
              count(*) FILTER (WHERE status = 'reauth_required') AS reauth,
              count(*) FILTER (WHERE status = 'connected' AND (watch_expiration IS NULL OR watch_expiration < :now)) AS lapsed,
              count(*) FILTER (WHERE status = 'connected' AND watch_failing_since < :failingSince) AS failing
       FROM gmail_accounts`,
      {
        replacements: { now, failingSince: new Date(now.getTime() - failingFor) },
        type: QueryTypes.SELECT,
      },
    );
    return {
      connected: Number(row?.connected ?? 0),
      reauthRequired: Number(row?.reauth ?? 0),
      watchLapsed: Number(row?.lapsed ?? 0),
      watchFailing: Number(row?.failing ?? 0),
    };
  }
}
