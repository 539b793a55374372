import { QueryTypes, type Sequelize } from "sequelize";
import type { MailLabel } from "../sync/MailStore";

/** A label as the API answers it. */
export interface LabelInfo {
  id: string;
  name: string;
  type: "system" | "user";
  /** Gmail's colour, only on labels that have one. */
  color?: { textColor: string; backgroundColor: string };
}

/**
 * One user's Gmail labels (the `labels` table, migration 0008), replaced by every sync from
 * `labels.list`. Scoped by the user like every statement here.
 */
export class LabelRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly userId: string,
  ) {}

  /**
   * Makes the table say what Gmail said: upserts every label and deletes the ones Gmail no longer
   * has, in one statement (a reader never sees the list half replaced).
   */
  async replace(labels: MailLabel[]): Promise<void> {
    const distinct = [...new Map(labels.map((l) => [l.id, l])).values()];
    await this.sequelize.query(
      `WITH given AS (
         SELECT * FROM jsonb_to_recordset(:labels::jsonb)
           AS l(label_id text, name text, type text, color_text text, color_background text)),
       gone AS (
         DELETE FROM labels WHERE user_id = :userId
           AND label_id NOT IN (SELECT label_id FROM given))
       INSERT INTO labels (user_id, label_id, name, type, color_text, color_background)
       SELECT :userId, label_id, name, type, color_text, color_background FROM given
       ON CONFLICT (user_id, label_id) DO UPDATE SET
         name = EXCLUDED.name, type = EXCLUDED.type,
         color_text = EXCLUDED.color_text, color_background = EXCLUDED.color_background
       WHERE (labels.name, labels.type, labels.color_text, labels.color_background)
         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.type, EXCLUDED.color_text, EXCLUDED.color_background)`,
      {
        replacements: {
          userId: this.userId,
          labels: JSON.stringify(
            distinct.map((l) => ({
              label_id: l.id,
              name: l.name.replaceAll("\u0000", ""),
              type: l.type === "user" ? "user" : "system",
              color_text: l.color?.textColor ?? null,
              color_background: l.color?.backgroundColor ?? null,
            })),
          ),
        },
      },
    );
  }

  /** System labels first (as Gmail's own list), then user labels by name. */
  async list(): Promise<LabelInfo[]> {
    const rows = await this.sequelize.query<{
      label_id: string;
      name: string;
      type: "system" | "user";
      color_text: string | null;
      color_background: string | null;
    }>(
      `SELECT label_id, name, type, color_text, color_background FROM labels
       WHERE user_id = :userId ORDER BY type = 'user', lower(name), label_id`,
      { replacements: { userId: this.userId }, type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({
      id: r.label_id,
      name: r.name,
      type: r.type,
      ...(r.color_text && r.color_background
        ? { color: { textColor: r.color_text, backgroundColor: r.color_background } }
        : {}),
    }));
  }
}
