import { loadConfig, requireDatabaseUrl, runMain } from "../core/config";
import { openDatabase } from "../core/db/sequelize";
import { keyId } from "../core/gmail/TokenCipher";
import { createRepositories } from "../core/repositories";
import { AccountService } from "../core/services/AccountService";

/**
 * `npm run rotate-keys`: the last step of a token-key rotation. Every stored token set not sealed
 * by TOKEN_ENCRYPTION_KEY is opened with TOKEN_ENCRYPTION_KEYS_OLD and sealed again with the
 * current key; afterwards the old keys can be dropped. Safe to run while web and workers run
 * (a row written meanwhile is left as its writer sealed it) and to run again.
 */
void runMain("rotate-keys", async () => {
  const config = loadConfig();
  const db = openDatabase(requireDatabaseUrl(config));
  try {
    const accounts = new AccountService(
      createRepositories(db).accounts,
      config.google,
      config.tokenEncryptionKey,
      config.tokenEncryptionKeysOld,
    );
    const { resealed, unreadable } = await accounts.reencryptAll();
    process.stdout.write(
      `current key ${keyId(config.tokenEncryptionKey)}: ${resealed} token set(s) sealed again, ${unreadable} that no configured key opens\n`,
    );
    if (unreadable > 0) {
      process.stdout.write(
        "their syncs fail until they sign in again; if the key that sealed them exists, add it to TOKEN_ENCRYPTION_KEYS_OLD and run this again\n",
      );
    }
  } finally {
    await db.close();
  }
});
