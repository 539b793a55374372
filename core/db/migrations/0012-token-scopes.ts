import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * API tokens get scopes (core/auth/scopes.ts), and every token an expiry.
 *
 * - Tokens from before keep exactly what they could do: `read` and `sync`. The scopes of
 *   capabilities they never had (`changes`, `webhooks`) have to be granted by a new token.
 * - A token that lasted until revoked now ends 90 days after this migration (the default
 *   lifetime of a new token), so no script stops at once and none keeps working for ever. An
 *   expiry already set stays.
 *
 * The application always names the scopes it writes; a row written without (by hand) gets none,
 * so it can do nothing but revoke itself.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE api_tokens ADD COLUMN scopes text[];
    UPDATE api_tokens SET scopes = ARRAY['read', 'sync'];
    ALTER TABLE api_tokens ALTER COLUMN scopes SET NOT NULL;
    ALTER TABLE api_tokens ALTER COLUMN scopes SET DEFAULT '{}';
    UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;
  `);
};

/** The scopes go; the expiries given stay (an older version honours them). */
export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("ALTER TABLE api_tokens DROP COLUMN IF EXISTS scopes");
};
