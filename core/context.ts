import type { Sequelize } from "sequelize";
import { type Config, requireDatabaseUrl } from "./config";
import { openDatabase } from "./db/sequelize";
import { createLogger, type Logger } from "./logger";
import { AccountService } from "./services/AccountService";
import { EmailService } from "./services/EmailService";
import { SessionService } from "./services/SessionService";
import { TaskService } from "./services/TaskService";
import { TaskDriver } from "./tasks/TaskDriver";
import { TaskLease } from "./tasks/TaskLease";

/** What every process holds once: configuration, logger, database and the services over it. */
export interface CoreContext {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  accounts: AccountService;
  emails: EmailService;
  sessions: SessionService;
  tasks: TaskService;
  /** Who runs which task (core/tasks/TaskLease.ts). */
  lease: TaskLease;
  /** Runs a task under its lease, for a worker's job and a web node's stream alike. */
  driver: TaskDriver;
  /** Lets go of the database; the pool closes when the process's last holder lets go. */
  close(): Promise<void>;
}

export function createCoreContext(
  config: Config,
  name: string,
  options: { poolMax?: number } = {},
): CoreContext {
  const logger = createLogger(name, config.logLevel, { pretty: config.prettyLogs });
  const db = openDatabase(requireDatabaseUrl(config), { poolMax: options.poolMax });
  const { sequelize } = db;
  const accounts = new AccountService(
    sequelize,
    config.google,
    config.tokenEncryptionKey,
    config.tokenEncryptionKeysOld,
  );
  const lease = new TaskLease(sequelize, config.taskLeaseSeconds * 1000, config.queuePrefix);
  return {
    config,
    logger,
    sequelize,
    accounts,
    lease,
    driver: new TaskDriver({ accounts, logger, sequelize }, lease),
    emails: new EmailService(sequelize),
    sessions: new SessionService(config.sessionSecret, { idleHours: config.sessionIdleHours }),
    tasks: new TaskService(sequelize, config.queuePrefix),
    close: () => db.release(),
  };
}
