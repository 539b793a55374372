import { MeSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

export const getMe = route({
  method: "get",
  path: "/api/me",
  tag: "account",
  auth: "session_or_token",
  scope: "read",
  summary: "Who is signed in, their Gmail connection, and the CSRF token for writes",
  responses: {
    200: json(MeSchema, "The signed-in user"),
    404: error("not_found: the user was deleted meanwhile"),
  },
});
