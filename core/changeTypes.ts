/**
 * What a change of a user's mirror can be (docs/changes.md): the feed's `type`. Shared by the
 * repository that writes them, the route's schema and the CLI.
 */
export const CHANGE_TYPES = [
  "message.added",
  "message.deleted",
  "message.labels",
  "account.state",
  "sync.finished",
] as const;

export type ChangeType = (typeof CHANGE_TYPES)[number];
