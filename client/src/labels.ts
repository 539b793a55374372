import { api, type Label, type LabelList } from "./api";

/** System labels worth offering by name; the rest (CHAT, DRAFT, the categories…) stay out of the way. */
const SYSTEM_NAMES: Record<string, string> = {
  INBOX: "Inbox",
  STARRED: "Starred",
  IMPORTANT: "Important",
  UNREAD: "Unread",
  SENT: "Sent",
  CATEGORY_PERSONAL: "Category: Personal",
  CATEGORY_SOCIAL: "Category: Social",
  CATEGORY_PROMOTIONS: "Category: Promotions",
  CATEGORY_UPDATES: "Category: Updates",
  CATEGORY_FORUMS: "Category: Forums",
};

/** The user's Gmail labels (GET /api/labels), with the names people know them by. */
export class Labels {
  private labels: Label[] = [];
  private readonly byId = new Map<string, Label>();

  async load(signal?: AbortSignal): Promise<Label[]> {
    const { labels } = await api.get<LabelList>("/api/labels", signal);
    this.labels = labels;
    this.byId.clear();
    for (const l of labels) this.byId.set(l.id, l);
    return this.offered();
  }

  /** Labels a person picks from: their own, and the system ones that mean something to them. */
  offered(): Label[] {
    return this.labels.filter((l) => l.type === "user" || l.id in SYSTEM_NAMES);
  }

  name(id: string): string {
    return SYSTEM_NAMES[id] ?? this.byId.get(id)?.name ?? id;
  }
}
