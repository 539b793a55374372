import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

export class User extends Model {
  declare id: CreationOptional<string>;
  declare email: string;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    User.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        email: { type: DataTypes.TEXT, allowNull: false, unique: true },
      },
      { sequelize, tableName: "users" },
    );
  }
}
