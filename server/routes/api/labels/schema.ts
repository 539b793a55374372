import { z } from "zod";
import { LabelCountSchema, LabelListSchema } from "../../../../core/contract/schemas";
import { error, json, route } from "../route";

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

export const getLabel = route({
  method: "get",
  path: "/api/labels/:id",
  tag: "emails",
  auth: "session_or_token",
  scope: "read",
  summary: "One label and how many stored messages carry it",
  description:
    "The count is made when asked (one query over the user's stored mail), for a page that shows a label's total.",
  params: z.object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "id is not a Gmail label id"),
  }),
  codes: { id: "invalid_label" },
  responses: {
    200: json(LabelCountSchema, "The label with its count"),
    400: error("invalid_label"),
    404: error("not_found: the last sync saw no such label"),
  },
});
