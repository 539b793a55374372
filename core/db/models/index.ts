import type { Sequelize } from "sequelize";
import { ApiToken } from "./ApiToken";
import { GmailAccount } from "./GmailAccount";
import { Session } from "./Session";
import { SyncTask } from "./SyncTask";
import { User } from "./User";

/** The models of one Sequelize instance. Only core/repositories (and tests) use them. */
export interface Models {
  User: typeof User;
  GmailAccount: typeof GmailAccount;
  SyncTask: typeof SyncTask;
  Session: typeof Session;
  ApiToken: typeof ApiToken;
}

export function defineModels(sequelize: Sequelize): Models {
  return {
    User: User.bindTo(sequelize),
    GmailAccount: GmailAccount.bindTo(sequelize),
    SyncTask: SyncTask.bindTo(sequelize),
    Session: Session.bindTo(sequelize),
    ApiToken: ApiToken.bindTo(sequelize),
  };
}

export type { ApiToken, GmailAccount, Session, SyncTask, User };
