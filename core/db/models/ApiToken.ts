import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

/** A bearer token for scripts. Shown once at creation; only its SHA-256 is stored. */
export class ApiToken extends Model {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare tokenHash: string;
  declare name: string;
  declare lastUsedAt: Date | null;
  /** Null: the token lasts until it is revoked. */
  declare expiresAt: Date | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    ApiToken.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.UUID, allowNull: false },
        tokenHash: { type: DataTypes.TEXT, allowNull: false, unique: true },
        name: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        lastUsedAt: { type: DataTypes.DATE, allowNull: true },
        expiresAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "api_tokens" },
    );
  }
}
