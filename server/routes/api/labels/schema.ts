import { LabelListSchema } from "../../../../core/contract/schemas";
import { json, route } from "../route";

export const listLabels = route({
  method: "get",
  path: "/api/labels",
  tag: "emails",
  auth: "session_or_token",
  scope: "read",
  summary: "The user's Gmail labels (system and their own), as the last sync read them",
  description:
    "Ids are what `GET /api/emails?label=` and the sync's `labelIds` take. Empty before the first " +
    "sync. User labels carry Gmail's colours when they have some.",
  responses: {
    200: json(LabelListSchema, "Every label, system labels first, then by name"),
  },
});
