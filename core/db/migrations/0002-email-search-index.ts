import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * Search (`q`) matches subject, sender and snippet with ILIKE '%…%', which no b-tree can serve.
 * A trigram index can. pg_trgm ships with PostgreSQL and is a trusted extension on the managed
 * services; where it cannot be created, search still works, just without the index.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DO $$ BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
      RAISE NOTICE 'pg_trgm is not available: email search runs without a trigram index';
    END $$;

    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS emails_search_trgm_idx ON emails
          USING gin ((subject || ' ' || from_address || ' ' || snippet) gin_trgm_ops);
      END IF;
    END $$;
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("DROP INDEX IF EXISTS emails_search_trgm_idx");
};
