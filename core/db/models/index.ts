import type { Sequelize } from "sequelize";
import { ApiToken } from "./ApiToken";
import { Email } from "./Email";
import { GmailAccount } from "./GmailAccount";
import { Session } from "./Session";
import { SyncTask } from "./SyncTask";
import { User } from "./User";

export function initModels(sequelize: Sequelize): void {
  User.initModel(sequelize);
  GmailAccount.initModel(sequelize);
  Email.initModel(sequelize);
  SyncTask.initModel(sequelize);
  Session.initModel(sequelize);
  ApiToken.initModel(sequelize);
}

export { ApiToken, Email, GmailAccount, Session, SyncTask, User };
