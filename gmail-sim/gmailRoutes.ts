/** Which Gmail v1 method a request path names, as googleapis' gmail client builds the paths. */
import type { GmailMethod } from "./stats";

export interface Route {
  method: GmailMethod;
  userId: string;
  id?: string;
  attachmentId?: string;
}

export function resolve(httpMethod: string, rest: string): Route | undefined {
  const parts = rest.split("/");
  if (parts.length < 2 || parts.length > 5) return undefined;
  let userId: string;
  let id: string | undefined;
  let attachmentId: string | undefined;
  try {
    userId = decodeURIComponent(parts[0]!);
    id = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);
    attachmentId = parts[4] === undefined ? undefined : decodeURIComponent(parts[4]);
  } catch {
    return undefined;
  }
  const resource = parts[1];
  if (httpMethod === "POST") {
    if (parts.length === 2 && resource === "watch") return { method: "users.watch", userId };
    if (parts.length === 2 && resource === "stop") return { method: "users.stop", userId };
    return undefined;
  }
  if (httpMethod !== "GET") return undefined;
  if (parts.length === 5) {
    if (resource === "messages" && id && parts[3] === "attachments" && attachmentId) {
      return { method: "messages.attachments.get", userId, id, attachmentId };
    }
    return undefined;
  }
  if (parts.length === 4) return undefined;
  if (parts.length === 2) {
    if (resource === "profile") return { method: "users.getProfile", userId };
    if (resource === "messages") return { method: "messages.list", userId };
    if (resource === "history") return { method: "history.list", userId };
    if (resource === "labels") return { method: "labels.list", userId };
    return undefined;
  }
  if (!id) return undefined;
  if (resource === "messages") return { method: "messages.get", userId, id };
  if (resource === "threads") return { method: "threads.get", userId, id };
  if (resource === "labels") return { method: "labels.get", userId, id };
  return undefined;
}
