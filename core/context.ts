import { type Config, requireDatabaseUrl } from "./config";
import { type Database, openDatabase } from "./db/sequelize";
import { createLogger, type Logger } from "./logger";
import { redisKeys, servedSyncQueues } from "./redis";
import { createRepositories, type Repositories } from "./repositories";
import { AccountService } from "./services/AccountService";
import { ChangeFeedService } from "./services/ChangeFeedService";
import { EmailService } from "./services/EmailService";
import { SessionService } from "./services/SessionService";
import { TaskService } from "./services/TaskService";
import { TaskDriver } from "./tasks/TaskDriver";
import { TaskLease } from "./tasks/TaskLease";

/**
 * What every process holds once: configuration, logger, its own database and the services over it.
 * The database's own handles (`sequelize`, `models`) are for migrations and for tests that
 * inspect rows; application code goes through `repos` (core/repositories/boundary.unit.test.ts).
 */
export interface CoreContext extends Database {
  config: Config;
  logger: Logger;
  /** The data access every service is built on (core/repositories). */
  repos: Repositories;
  accounts: AccountService;
  emails: EmailService;
  sessions: SessionService;
  tasks: TaskService;
  /** The change feed of every user's mirror (docs/changes.md). */
  changes: ChangeFeedService;
  /** Who runs which task (core/tasks/TaskLease.ts). */
  lease: TaskLease;
  /** Runs a task under its lease, for a worker's job and a web node's stream alike. */
  driver: TaskDriver;
}

export function createCoreContext(
  config: Config,
  name: string,
  options: { poolMax?: number } = {},
): CoreContext {
  const logger = createLogger(name, config.logLevel, { pretty: config.prettyLogs });
  const db = openDatabase(requireDatabaseUrl(config), { poolMax: config.databasePoolMax ?? options.poolMax });
  const repos = createRepositories(db);
  const accounts = new AccountService(
    repos.accounts,
    config.google,
    config.tokenEncryptionKey,
    config.tokenEncryptionKeysOld,
  );
  // A task row names the queue (the shard of it) its jobs travel through; a worker sweeps the
  // orphans of the shards it serves.
  const keys = redisKeys(config);
  const served = servedSyncQueues(config);
  const lease = new TaskLease(
    repos.tasks,
    config.taskLeaseSeconds * 1000,
    served.sweep.length === 1 ? served.sweep[0]! : served.sweep,
  );
  const queueOf = (userId: string) => keys.syncQueue(keys.shardOf(userId));
  return {
    ...db,
    config,
    logger,
    repos,
    accounts,
    lease,
    driver: new TaskDriver({ accounts, logger, repos }, lease),
    emails: new EmailService(repos.emailsOf),
    changes: new ChangeFeedService(repos.changes, config.changeFeed.retentionDays),
    sessions: new SessionService(repos.sessions, repos.tokens, config.sessionSecret, {
      idleHours: config.sessionIdleHours,
    }),
    tasks: new TaskService(repos.tasks, config.syncQueueShards === 1 ? keys.syncQueue(0) : queueOf),
  };
}
