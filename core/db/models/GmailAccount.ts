import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

/** `disconnected`: the user disconnected Gmail; the tokens are forgotten and the grant revoked. */
export type GmailAccountStatus = "connected" | "reauth_required" | "disconnected";

/** A user's Gmail connection: the encrypted OAuth token set and where the last sync stopped. */
export class GmailAccount extends Model {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare email: string;
  /** AES-256-GCM envelope of the token set (see core/gmail/TokenCipher). */
  declare encryptedTokens: string;
  declare scope: string | null;
  declare status: CreationOptional<GmailAccountStatus>;
  /** Gmail's historyId after the last completed sync, the start of the next incremental one. */
  declare historyId: string | null;
  declare lastSyncAt: Date | null;
  /** How many emails the user holds, kept by the statements that store and delete them (0007). */
  declare emailCount: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /**
   * A class of this model bound to `sequelize` alone, so two databases (or two holders of one)
   * never share a static model.
   */
  static bindTo(sequelize: Sequelize): typeof GmailAccount {
    const Bound = class extends GmailAccount {};
    Bound.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.UUID, allowNull: false, unique: true },
        email: { type: DataTypes.TEXT, allowNull: false },
        encryptedTokens: { type: DataTypes.TEXT, allowNull: false },
        scope: { type: DataTypes.TEXT, allowNull: true },
        status: { type: DataTypes.TEXT, allowNull: false, defaultValue: "connected" },
        historyId: { type: DataTypes.TEXT, allowNull: true },
        lastSyncAt: { type: DataTypes.DATE, allowNull: true },
        emailCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      },
      { sequelize, modelName: "GmailAccount", tableName: "gmail_accounts" },
    );
    return Bound;
  }
}
