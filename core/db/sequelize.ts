import { Sequelize } from "sequelize";
import { migrate } from "./migrator";
import { defineModels, type Models } from "./models";

export type { Models };

export interface DatabaseOptions {
  /** Connections in this instance's pool. */
  poolMax?: number;
  logging?: false | ((sql: string) => void);
}

/**
 * One holder's database: its own pool and its own models. Nothing is shared between holders, so a
 * process running web and worker together (`npm start`, the tests) simply holds two.
 */
export interface Database {
  sequelize: Sequelize;
  models: Models;
  /** Fails fast when PostgreSQL cannot be reached, then applies pending migrations if asked. */
  prepareDatabase(options: { migrate: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** A bare instance, without models: migrations and one-shot scripts. */
export function createDatabase(url: string, options: DatabaseOptions = {}): Sequelize {
  return new Sequelize(url, {
    dialect: "postgres",
    logging: options.logging ?? false,
    pool: { max: options.poolMax ?? 20, min: 0, idle: 10_000, acquire: 30_000 },
    define: { underscored: true },
  });
}

export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sequelize = createDatabase(url, options);
  let closed: Promise<void> | undefined;
  return {
    sequelize,
    models: defineModels(sequelize),
    prepareDatabase: async (options) => {
      await sequelize.authenticate();
      if (options.migrate) await migrate(sequelize);
    },
    close: () => {
      closed ??= sequelize.close();
      return closed;
    },
  };
}
