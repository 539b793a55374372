import { error, noContent, route } from "../route";

const sessionOnly = error("session_required: only a browser session (with X-CSRF-Token) may do this");

export const disconnectGmail = route({
  method: "post",
  path: "/api/account/disconnect",
  tag: "account",
  auth: "session",
  summary: "Revoke the Gmail grant at Google; the stored mail stays",
  responses: { 204: noContent("Disconnected"), 403: sessionOnly },
});

export const deleteAccount = route({
  method: "delete",
  path: "/api/account",
  tag: "account",
  auth: "session",
  summary: "Delete the user and everything of theirs; revokes the grant and ends every session",
  responses: { 204: noContent("Deleted; the session cookie is cleared"), 403: sessionOnly },
});

export const signOutEverywhere = route({
  method: "delete",
  path: "/api/sessions",
  tag: "account",
  auth: "session",
  summary: "End every session of the user (API tokens stay)",
  responses: { 204: noContent("Signed out; the session cookie is cleared"), 403: sessionOnly },
});
