import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

export class User extends Model {
  declare id: CreationOptional<string>;
  /** The address Google last gave for this account; not unique (see migration 0005). */
  declare email: string;
  /** Google's stable account id; null for users who have not signed in since it was kept. */
  declare googleSub: string | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /**
   * A class of this model bound to `sequelize` alone, so two databases (or two holders of one)
   * never share a static model.
   */
  static bindTo(sequelize: Sequelize): typeof User {
    const Bound = class extends User {};
    Bound.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        email: { type: DataTypes.TEXT, allowNull: false },
        googleSub: { type: DataTypes.TEXT, allowNull: true, unique: true, field: "google_sub" },
      },
      { sequelize, modelName: "User", tableName: "users" },
    );
    return Bound;
  }
}
