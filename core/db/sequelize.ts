import { Sequelize } from "sequelize";
import { initModels } from "./models";

export interface DatabaseOptions {
  /** Connections per process; web and worker each hold one pool. */
  poolMax?: number;
  logging?: false | ((sql: string) => void);
}

/** Opens the one Sequelize instance of a process and binds every model to it. */
export function createDatabase(url: string, options: DatabaseOptions = {}): Sequelize {
  const sequelize = new Sequelize(url, {
    dialect: "postgres",
    logging: options.logging ?? false,
    pool: { max: options.poolMax ?? 10, min: 0, idle: 10_000, acquire: 30_000 },
    define: { underscored: true },
  });
  initModels(sequelize);
  return sequelize;
}
