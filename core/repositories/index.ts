import type { Database } from "../db/sequelize";
import { AccountRepository } from "./account.repository";
import { AccountHealthRepository } from "./accountHealth.repository";
import { ChangeRepository } from "./change.repository";
import { EmailRepository } from "./email.repository";
import { SessionRepository } from "./session.repository";
import { TaskRepository } from "./task.repository";
import { TokenRepository } from "./token.repository";

/**
 * Every way into PostgreSQL, over one database. Nothing outside core/repositories (and core/db)
 * runs SQL or touches a model; core/repositories/boundary.unit.test.ts checks it.
 */
export interface Repositories {
  accounts: AccountRepository;
  /** What each Gmail account's health view reads, and the facts push, renewal and syncs record. */
  health: AccountHealthRepository;
  /** The change feed of every user: reading one user's, and retention. */
  changes: ChangeRepository;
  sessions: SessionRepository;
  tasks: TaskRepository;
  tokens: TokenRepository;
  /** One user's mailbox: the sync's MailStore and the API's reader of stored mail. */
  emailsOf(userId: string): EmailRepository;
  /** Resolves when PostgreSQL answers (readiness). */
  ping(): Promise<void>;
}

export function createRepositories({ sequelize, models }: Database): Repositories {
  return {
    accounts: new AccountRepository(sequelize, models.User, models.GmailAccount),
    health: new AccountHealthRepository(sequelize),
    changes: new ChangeRepository(sequelize),
    sessions: new SessionRepository(models.Session),
    tasks: new TaskRepository(sequelize, models.SyncTask),
    tokens: new TokenRepository(sequelize, models.ApiToken, models.User),
    emailsOf: (userId) => new EmailRepository(sequelize, userId),
    ping: async () => {
      await sequelize.query("SELECT 1");
    },
  };
}
