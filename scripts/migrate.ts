import { loadConfig, requireDatabaseUrl, runMain } from "../core/config";
import { migrate } from "../core/db/migrator";
import { createDatabase } from "../core/db/sequelize";

/** `npm run migrate`, the Procfile's release step: applies pending migrations and exits. */
void runMain("migrate", async () => {
  const config = loadConfig();
  const sequelize = createDatabase(requireDatabaseUrl(config));
  const applied = await migrate(sequelize);
  await sequelize.close();
  process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
});
