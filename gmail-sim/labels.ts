/** Gmail's label catalogue: the system labels every mailbox has, and user-label definitions. */

export interface LabelDefinition {
  id: string;
  name: string;
  type: "system" | "user";
  messageListVisibility?: "show" | "hide";
  labelListVisibility?: "labelShow" | "labelShowIfUnread" | "labelHide";
  /** User labels only, and only when one was chosen (colours from Gmail's fixed palette). */
  color?: { textColor: string; backgroundColor: string };
}

/** Gmail's system labels, with the visibility fields Gmail reports for each. */
export const SYSTEM_LABELS: readonly LabelDefinition[] = [
  {
    id: "CHAT",
    name: "CHAT",
    type: "system",
    messageListVisibility: "hide",
    labelListVisibility: "labelHide",
  },
  { id: "SENT", name: "SENT", type: "system" },
  { id: "INBOX", name: "INBOX", type: "system" },
  {
    id: "IMPORTANT",
    name: "IMPORTANT",
    type: "system",
    messageListVisibility: "hide",
    labelListVisibility: "labelHide",
  },
  {
    id: "TRASH",
    name: "TRASH",
    type: "system",
    messageListVisibility: "hide",
    labelListVisibility: "labelHide",
  },
  { id: "DRAFT", name: "DRAFT", type: "system" },
  {
    id: "SPAM",
    name: "SPAM",
    type: "system",
    messageListVisibility: "hide",
    labelListVisibility: "labelHide",
  },
  { id: "CATEGORY_FORUMS", name: "CATEGORY_FORUMS", type: "system" },
  { id: "CATEGORY_UPDATES", name: "CATEGORY_UPDATES", type: "system" },
  { id: "CATEGORY_PERSONAL", name: "CATEGORY_PERSONAL", type: "system" },
  { id: "CATEGORY_PROMOTIONS", name: "CATEGORY_PROMOTIONS", type: "system" },
  { id: "CATEGORY_SOCIAL", name: "CATEGORY_SOCIAL", type: "system" },
  { id: "STARRED", name: "STARRED", type: "system" },
  { id: "UNREAD", name: "UNREAD", type: "system" },
];

const SYSTEM_IDS = new Set(SYSTEM_LABELS.map((l) => l.id));

export function isSystemLabel(id: string): boolean {
  return SYSTEM_IDS.has(id);
}

export function userLabel(
  id: string,
  name: string,
  color?: { textColor: string; backgroundColor: string },
): LabelDefinition {
  const def: LabelDefinition = {
    id,
    name,
    type: "user",
    messageListVisibility: "show",
    labelListVisibility: "labelShow",
  };
  if (color) def.color = color;
  return def;
}

/**
 * Interns label arrays so 100,000 messages share a handful of arrays instead of owning one each.
 * Arrays handed out are frozen: a change makes a new (interned) array.
 */
export class LabelSetInterner {
  private readonly sets = new Map<string, readonly string[]>();

  intern(labels: readonly string[]): readonly string[] {
    const key = labels.join("\u0000");
    const existing = this.sets.get(key);
    if (existing) return existing;
    const frozen = Object.freeze([...labels]);
    this.sets.set(key, frozen);
    return frozen;
  }
}
