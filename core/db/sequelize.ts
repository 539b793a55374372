import { Sequelize } from "sequelize";
import { initModels } from "./models";

export interface DatabaseOptions {
  /** Connections in the pool. When several holders share it, the largest request wins. */
  poolMax?: number;
  logging?: false | ((sql: string) => void);
}

interface Shared {
  sequelize: Sequelize;
  holders: number;
}

const shared = new Map<string, Shared>();

/**
 * The process's Sequelize instance for a database. Models are static classes bound to one
 * instance, so a process that runs web and worker together (`npm start`, the tests) must share
 * one: each holder gets the same instance and releases it, and the pool closes with the last.
 */
export function openDatabase(
  url: string,
  options: DatabaseOptions = {},
): { sequelize: Sequelize; release(): Promise<void> } {
  let entry = shared.get(url);
  if (!entry) {
    entry = { sequelize: createDatabase(url, options), holders: 0 };
    shared.set(url, entry);
  }
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    sequelize: held.sequelize,
    async release() {
      if (released) return;
      released = true;
      if (--held.holders === 0) {
        shared.delete(url);
        await held.sequelize.close();
      }
    },
  };
}

/** A new instance, bound to the models; for one-shot scripts that own the process. */
export function createDatabase(url: string, options: DatabaseOptions = {}): Sequelize {
  const sequelize = new Sequelize(url, {
    dialect: "postgres",
    logging: options.logging ?? false,
    pool: { max: options.poolMax ?? 20, min: 0, idle: 10_000, acquire: 30_000 },
    define: { underscored: true },
  });
  initModels(sequelize);
  return sequelize;
}
