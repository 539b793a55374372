import type { QueryInterface, Sequelize } from "sequelize";
import type { Umzug } from "umzug";
import * as initial from "./migrations/0001-initial";
import * as emailSearchIndex from "./migrations/0002-email-search-index";
import * as taskLease from "./migrations/0003-task-lease";
import * as accountLifecycle from "./migrations/0004-account-lifecycle";
import * as googleSub from "./migrations/0005-google-sub";
import * as syncListing from "./migrations/0006-sync-listing";
import * as emailCount from "./migrations/0007-email-count";
import * as wholeMessages from "./migrations/0008-whole-messages";
import * as gmailWatch from "./migrations/0009-gmail-watch";
import * as partitionEmails from "./migrations/0010-partition-emails";
import * as inlineImageIds from "./migrations/0011-inline-image-ids";
import * as tokenScopes from "./migrations/0012-token-scopes";
import * as attachmentCount from "./migrations/0013-attachment-count";
import * as accountHealth from "./migrations/0014-account-health";
import * as changeFeed from "./migrations/0015-change-feed";

/**
 * Migrations are listed here rather than globbed so that a bundled build carries them. Add new
 * ones at the end; never edit one that has shipped.
 */
const MIGRATIONS = [
  { name: "0001-initial", ...initial },
  { name: "0002-email-search-index", ...emailSearchIndex },
  { name: "0003-task-lease", ...taskLease },
  { name: "0004-account-lifecycle", ...accountLifecycle },
  { name: "0005-google-sub", ...googleSub },
  { name: "0006-sync-listing", ...syncListing },
  { name: "0007-email-count", ...emailCount },
  { name: "0008-whole-messages", ...wholeMessages },
  { name: "0009-gmail-watch", ...gmailWatch },
  { name: "0010-partition-emails", ...partitionEmails },
  { name: "0011-inline-image-ids", ...inlineImageIds },
  { name: "0012-token-scopes", ...tokenScopes },
  { name: "0013-attachment-count", ...attachmentCount },
  { name: "0014-account-health", ...accountHealth },
  { name: "0015-change-feed", ...changeFeed },
];

/**
 * umzug is imported when a migrator is made, not with this module: every process imports this
 * one, and a production process, which never migrates, would otherwise hold umzug's module graph.
 */
export async function createMigrator(
  sequelize: Sequelize,
  logger?: { info: (msg: string) => void },
): Promise<Umzug<QueryInterface>> {
  const { SequelizeStorage, Umzug } = await import("umzug");
  return new Umzug<QueryInterface>({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: m.up, down: m.down })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
    logger: logger
      ? {
          info: (e) => logger.info(`migration ${JSON.stringify(e)}`),
          warn: () => {},
          error: () => {},
          debug: () => {},
        }
      : undefined,
  });
}

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so web and worker processes that
 * start together do not race each other.
 */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  // The transaction only holds the lock; migrations run on other pooled connections.
  return sequelize.transaction(async (transaction) => {
    await sequelize.query("SELECT pg_advisory_xact_lock(7340021)", { transaction });
    const applied = await (await createMigrator(sequelize)).up();
    return applied.map((m) => m.name);
  });
}
