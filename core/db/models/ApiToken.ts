import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";
import type { TokenScope } from "../../auth/scopes";

/** A bearer token for scripts. Shown once at creation; only its SHA-256 is stored. */
export class ApiToken extends Model {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare tokenHash: string;
  declare name: string;
  /** What it may do (core/auth/scopes.ts). */
  declare scopes: TokenScope[];
  declare lastUsedAt: Date | null;
  /** Null only for a row written before every token had an expiry: it lasts until revoked. */
  declare expiresAt: Date | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /**
   * A class of this model bound to `sequelize` alone, so two databases (or two holders of one)
   * never share a static model.
   */
  static bindTo(sequelize: Sequelize): typeof ApiToken {
    const Bound = class extends ApiToken {};
    Bound.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.UUID, allowNull: false },
        tokenHash: { type: DataTypes.TEXT, allowNull: false, unique: true },
        name: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        scopes: { type: DataTypes.ARRAY(DataTypes.TEXT), allowNull: false },
        lastUsedAt: { type: DataTypes.DATE, allowNull: true },
        expiresAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, modelName: "ApiToken", tableName: "api_tokens" },
    );
    return Bound;
  }
}
