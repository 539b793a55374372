import { describe, expect, it } from "vitest";
import { inScopeLabels, listParams } from "./scope";

describe("scope as Gmail is asked for it", () => {
  it("lists a day window as newer_than and labels as labelIds; the whole mailbox asks neither", () => {
    expect(listParams(null)).toEqual({});
    expect(listParams({ newerThanDays: 30, labelIds: ["INBOX", "Label_1"] })).toEqual({
      q: "newer_than:30d",
      labelIds: ["INBOX", "Label_1"],
    });
  });

  it("a message is inside a label scope only with every label of it; a day scope admits any arrival", () => {
    expect(inScopeLabels({ labelIds: ["INBOX", "Label_1"] }, ["INBOX"])).toBe(false);
    expect(inScopeLabels({ labelIds: ["INBOX", "Label_1"] }, ["Label_1", "INBOX", "STARRED"])).toBe(true);
    expect(inScopeLabels({ newerThanDays: 1 }, [])).toBe(true);
    expect(inScopeLabels(null, [])).toBe(true);
  });
});
