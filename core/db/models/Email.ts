import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";

/** One Gmail message's metadata, unique per user and Gmail id. */
export class Email extends Model {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare gmailId: string;
  declare threadId: string;
  declare fromAddress: string;
  declare toAddress: string;
  declare subject: string;
  declare snippet: string;
  declare date: Date;
  declare labels: string[];
  declare sizeEstimate: number;
  declare historyId: string | null;
  declare headers: Record<string, string>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Email.init(
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        userId: { type: DataTypes.UUID, allowNull: false },
        gmailId: { type: DataTypes.TEXT, allowNull: false },
        threadId: { type: DataTypes.TEXT, allowNull: false },
        fromAddress: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        toAddress: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        subject: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        snippet: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        date: { type: DataTypes.DATE, allowNull: false },
        labels: { type: DataTypes.ARRAY(DataTypes.TEXT), allowNull: false, defaultValue: [] },
        sizeEstimate: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        historyId: { type: DataTypes.TEXT, allowNull: true },
        headers: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
      },
      { sequelize, tableName: "emails" },
    );
  }
}
