import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

/**
 * A browser session. The cookie carries a random secret; only its SHA-256 is stored, so a
 * database leak does not leak sessions. Sessions live in PostgreSQL rather than Redis so that a
 * signed-in user can still use the streaming fallback while Redis is down.
 */
export class Session extends Model {
  declare id: string;
  declare userId: string;
  declare csrfToken: string;
  declare expiresAt: Date;
  /** Last use, written at most once a minute: the idle expiry counts from it. */
  declare lastSeenAt: CreationOptional<Date>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /**
   * A class of this model bound to `sequelize` alone, so two databases (or two holders of one)
   * never share a static model.
   */
  static bindTo(sequelize: Sequelize): typeof Session {
    const Bound = class extends Session {};
    Bound.init(
      {
        id: { type: DataTypes.TEXT, primaryKey: true },
        userId: { type: DataTypes.UUID, allowNull: false },
        csrfToken: { type: DataTypes.TEXT, allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        lastSeenAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      },
      { sequelize, modelName: "Session", tableName: "sessions" },
    );
    return Bound;
  }
}
