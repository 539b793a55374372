import { type QueryInterface, QueryTypes, type Sequelize } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * `emails` becomes a table hash-partitioned by `user_id`. Every statement the app runs on it names
 * one user, so the planner prunes to one partition: each partition's indexes, vacuum and cache
 * footprint are a sixteenth of the whole, and the table can grow past what one heap and one set of
 * b-trees serve comfortably. It is also the layout Citus distributes by the same column.
 *
 * The table is rebuilt from the catalog as it stands when this runs (after 0008 and 0009), not from
 * a column list written here: every column, default, generated column, CHECK and NOT NULL, every
 * index by its own definition, the foreign keys out of it and the `id` sequence carry over.
 * What changes: the primary key becomes (user_id, id), because a partitioned table's unique
 * constraints must include the partition key; every other unique constraint must already include
 * `user_id`, or the migration stops and says which. Foreign keys into `emails` and triggers on it
 * would need the same care, and there are none; the migration stops if one appears.
 *
 * Locks: the copy runs under a SHARE lock, so the old code keeps reading mail while writes (a sync's
 * upserts) wait; only the final swap (drop the old table, rename the new) takes ACCESS EXCLUSIVE.
 * Everything is one transaction: a failure leaves the old table as it was, and a rerun starts over.
 * A table already partitioned is left alone.
 *
 * Partitions: `inbox_sync.email_partitions` when set for the migrating session (for example
 * `ALTER DATABASE … SET inbox_sync.email_partitions = '32'` before `npm run migrate`), else 16.
 * Choose it once: changing it later means this rebuild again (or splitting each partition in two,
 * modulus 2N, by detaching and re-attaching).
 */
export const DEFAULT_EMAIL_PARTITIONS = 16;
const MAX_EMAIL_PARTITIONS = 1024;
const BUILD = "emails_rebuilt";

export class EmailPartitioningError extends Error {
  constructor(message: string) {
    super(`migration 0010-partition-emails: ${message}`);
    this.name = "EmailPartitioningError";
  }
}

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await rebuildEmails(qi.sequelize, { partitions: "configured" });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await rebuildEmails(qi.sequelize, { partitions: null });
};

interface IndexRow {
  name: string;
  def: string;
  constraint_name: string | null;
  constraint_type: string | null;
  constraint_def: string | null;
}

/**
 * Rebuilds `emails` as a table hash-partitioned into `partitions` (a number, or "configured": the
 * session setting or 16), or as a plain table (null, the way down), keeping every row.
 */
export async function rebuildEmails(
  sequelize: Sequelize,
  options: { partitions: number | "configured" | null },
): Promise<void> {
  await sequelize.transaction(async (transaction) => {
    const q = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
      sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction });
    const run = (sql: string) => sequelize.query(sql, { transaction });

    const [table] = await q<{ relkind: string }>(
      "SELECT relkind FROM pg_class WHERE oid = to_regclass('emails')",
    );
    if (!table) throw new EmailPartitioningError("there is no emails table");
    const partitioned = table.relkind === "p";
    if (partitioned === (options.partitions !== null)) return;
    const partitions = options.partitions === "configured" ? await configured(q) : options.partitions;

    // Writers wait from here on; readers go on until the swap.
    await run("LOCK TABLE emails IN SHARE MODE");

    const referencing = await q<{ conname: string; table: string }>(
      "SELECT conname, conrelid::regclass::text AS table FROM pg_constraint WHERE confrelid = 'emails'::regclass",
    );
    if (referencing.length)
      throw new EmailPartitioningError(
        `foreign keys point at emails (${referencing.map((r) => `${r.table}.${r.conname}`).join(", ")}); they must reference (user_id, id) first`,
      );
    const triggers = await q<{ tgname: string }>(
      "SELECT tgname FROM pg_trigger WHERE tgrelid = 'emails'::regclass AND NOT tgisinternal",
    );
    if (triggers.length)
      throw new EmailPartitioningError(`emails has triggers (${triggers.map((t) => t.tgname).join(", ")})`);

    const columns = await q<{ name: string }>(
      `SELECT quote_ident(attname) AS name FROM pg_attribute
       WHERE attrelid = 'emails'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
       ORDER BY attnum`,
    );
    // On a partitioned table the parent's indexes are the ones to copy; pg_get_indexdef says
    // "ON ONLY" for them, which the rewrite below drops so the copy reaches every partition.
    const indexes = await q<IndexRow>(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def,
              con.conname AS constraint_name, con.contype AS constraint_type,
              pg_get_constraintdef(con.oid) AS constraint_def
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
       WHERE i.indrelid = 'emails'::regclass
       ORDER BY c.relname`,
    );
    const foreignKeys = await q<{ name: string; def: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = 'emails'::regclass AND contype = 'f' AND conparentid = 0 ORDER BY conname`,
    );
    const sequences = await q<{ sequence: string; column: string }>(
      `SELECT d.objid::regclass::text AS sequence, quote_ident(a.attname) AS column
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE d.refobjid = 'emails'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype = 'a'`,
    );

    // Column compression (0008's lz4 bodies) exists, and LIKE copies it, from PostgreSQL 14.
    const [server] = await q<{ version: number }>(
      "SELECT current_setting('server_version_num')::int AS version",
    );
    const compression = server!.version >= 140000 ? "INCLUDING COMPRESSION" : "";
    // Identity and indexes are left out on purpose: the keys change, and indexes build faster
    // once the rows are in.
    await run(
      `CREATE TABLE ${BUILD} (LIKE emails INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS
         INCLUDING STORAGE INCLUDING COMMENTS ${compression})
       ${partitions ? "PARTITION BY HASH (user_id)" : ""}`,
    );
    if (partitions) {
      const width = String(partitions - 1).length;
      for (let r = 0; r < partitions; r++)
        await run(
          `CREATE TABLE emails_p${String(r).padStart(width, "0")} PARTITION OF ${BUILD}
           FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${r})`,
        );
    }
    const list = columns.map((c) => c.name).join(", ");
    // Explicit ids: the sequence is not touched and simply continues after the swap.
    await run(`INSERT INTO ${BUILD} (${list}) SELECT ${list} FROM emails`);

    const renames: string[] = [];
    for (const index of indexes) {
      const temp = tempName(index.name);
      if (index.constraint_type === "p") {
        await run(
          `ALTER TABLE ${BUILD} ADD CONSTRAINT ${temp} PRIMARY KEY ${partitions ? "(user_id, id)" : "(id)"}`,
        );
      } else if (index.constraint_type) {
        if (partitions && index.constraint_type === "u" && !/\buser_id\b/.test(index.constraint_def ?? ""))
          throw new EmailPartitioningError(
            `${index.constraint_name} (${index.constraint_def}) does not include user_id, which a partitioned table's unique constraints must`,
          );
        await run(`ALTER TABLE ${BUILD} ADD CONSTRAINT ${temp} ${index.constraint_def}`);
      } else {
        await run(retarget(index.def, temp));
      }
      renames.push(
        index.constraint_type
          ? `ALTER TABLE emails RENAME CONSTRAINT ${temp} TO ${quoteIdent(index.constraint_name!)}`
          : `ALTER INDEX ${temp} RENAME TO ${quoteIdent(index.name)}`,
      );
    }
    for (const fk of foreignKeys) {
      const temp = tempName(fk.name);
      await run(`ALTER TABLE ${BUILD} ADD CONSTRAINT ${temp} ${fk.def}`);
      renames.push(`ALTER TABLE emails RENAME CONSTRAINT ${temp} TO ${quoteIdent(fk.name)}`);
    }
    for (const s of sequences) await run(`ALTER SEQUENCE ${s.sequence} OWNED BY ${BUILD}.${s.column}`);

    // A new table has no statistics; without them the first plans guess. Gathered before the
    // swap, so readers do not wait for it (measured: 2 of 18 s at 100,000 rows).
    await run(`ANALYZE ${BUILD}`);

    // The swap: readers wait only for these few catalog changes.
    await run("LOCK TABLE emails IN ACCESS EXCLUSIVE MODE");
    await run("DROP TABLE emails");
    await run(`ALTER TABLE ${BUILD} RENAME TO emails`);
    for (const rename of renames) await run(rename);
  });
}

/** The setting's partition count, or 16. */
async function configured(q: <T extends object>(sql: string) => Promise<T[]>): Promise<number> {
  const [row] = await q<{ value: string | null }>(
    "SELECT current_setting('inbox_sync.email_partitions', true) AS value",
  );
  const raw = row?.value?.trim();
  if (!raw) return DEFAULT_EMAIL_PARTITIONS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EMAIL_PARTITIONS)
    throw new EmailPartitioningError(
      `inbox_sync.email_partitions must be a whole number from 1 to ${MAX_EMAIL_PARTITIONS}, not "${raw}"`,
    );
  return n;
}

function tempName(name: string): string {
  return quoteIdent(`${name.slice(0, 50)}__rebuilt`);
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** `CREATE [UNIQUE] INDEX name ON [ONLY] schema.emails USING …` for the table being built. */
function retarget(def: string, name: string): string {
  const match = /^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ USING (.*)$/s.exec(def);
  if (!match) throw new EmailPartitioningError(`cannot read the index definition "${def}"`);
  return `CREATE ${match[1] ?? ""}INDEX ${name} ON ${BUILD} USING ${match[2]}`;
}
