import { describe, expect, it } from "vitest";
import { applyRecord, type MessageChange, planFetch, sortChanges } from "./incrementalSync";

const msg = (id: string, labelIds?: string[]) => ({ message: { id, labelIds } });

describe("history replay rules", () => {
  it("the last record about a message wins, and a deletion is not undone by a later relabel", () => {
    const changes = new Map<string, MessageChange>();
    applyRecord(changes, { messagesAdded: [msg("a", ["INBOX"]), msg("b", ["INBOX"])] });
    applyRecord(changes, { labelsAdded: [msg("a", ["INBOX", "STARRED"])], messagesDeleted: [msg("b")] });
    applyRecord(changes, { labelsRemoved: [msg("b", ["INBOX"]), msg("c", ["Label_1"])] });
    expect(Object.fromEntries(changes)).toEqual({
      a: { added: true, labels: ["INBOX", "STARRED"] },
      b: { deleted: true },
      c: { labels: ["Label_1"] },
    });
  });

  it("sorts removals (deleted or moved to spam/trash), arrivals and relabels", () => {
    const changes = new Map<string, MessageChange>([
      ["gone", { deleted: true }],
      ["spam", { labels: ["SPAM"] }],
      ["new", { added: true, labels: ["INBOX"] }],
      ["moved", { labels: ["Label_1"] }],
    ]);
    expect(sortChanges(changes)).toEqual({
      toRemove: ["gone", "spam"],
      candidates: ["new"],
      relabel: [{ gmailId: "moved", labels: ["Label_1"] }],
    });
  });

  it("fetches what is not held inside the label scope, and relabels what is held whatever its labels", () => {
    const changes = new Map<string, MessageChange>([
      ["new-in", { added: true, labels: ["INBOX"] }],
      ["new-out", { added: true, labels: ["Label_9"] }],
      ["held-new", { added: true, labels: ["Label_9"] }],
      ["unheld-moved", { labels: ["INBOX", "Label_1"] }],
      ["held-moved", { labels: ["Label_9"] }],
    ]);
    const plan = planFetch(sortChanges(changes), changes, new Set(["held-new", "held-moved"]), {
      labelIds: ["INBOX"],
    });
    expect(plan).toEqual({
      toFetch: ["new-in", "unheld-moved"],
      relabelKnown: [
        { gmailId: "held-moved", labels: ["Label_9"] },
        { gmailId: "held-new", labels: ["Label_9"] },
      ],
    });
  });
});
