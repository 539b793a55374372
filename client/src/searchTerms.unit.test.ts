import { describe, expect, it } from "vitest";
import { matchRanges, searchTerms } from "./searchTerms";

/** The marked parts of `text` for query `q`. */
const marked = (q: string, text: string) =>
  matchRanges(text, searchTerms(q)).map(([s, e]) => text.slice(s, e));

describe("search terms: what a search highlights, read as the server reads the query", () => {
  it("marks every word of the query, whole and without regard to case", () => {
    expect(marked("budget report", "The BUDGET for the Report, and the budget again")).toEqual([
      "BUDGET",
      "Report",
      "budget",
    ]);
  });

  it("never marks a word inside a longer one (no stemming, as the search has none)", () => {
    expect(marked("invoice", "invoices, reinvoice and one invoice.")).toEqual(["invoice"]);
  });

  it('reads quoted phrases as their words, and leaves out what -word and -"phrase" exclude and the OR operator', () => {
    expect(searchTerms('"quarterly plan" OR atlas -draft -"old notes"').words.sort()).toEqual([
      "atlas",
      "plan",
      "quarterly",
    ]);
    expect(marked("atlas -draft", "Atlas draft")).toEqual(["Atlas"]);
  });

  it("keeps an address whole and marks its parts as well, as the search's parser indexes both", () => {
    expect(marked("alice@example.com", "From alice@example.com")).toEqual(["alice@example.com"]);
    expect(marked("follow-up", "a follow-up and a follow")).toEqual(["follow-up", "follow"]);
  });

  it("falls back to the query as typed, as a substring, where no word matches (the server's fallback)", () => {
    expect(marked("invo", "Invoice and invoices")).toEqual(["Invo", "invo"]);
    expect(marked("@", "a@b and c@d")).toEqual(["@", "@"]);
  });

  it("marks nothing for an empty query or a text without the terms, and treats regex characters literally", () => {
    expect(marked("", "anything")).toEqual([]);
    expect(marked("atlas", "nothing here")).toEqual([]);
    expect(marked("a.b (c)", "a.b (c) and axb")).toEqual(["a.b", "c"]);
  });

  it("gives ranges in the original text even where lower case changes a string's length", () => {
    const text = "İstanbul and istanbul";
    expect(marked("istanbul", text)).toEqual(["istanbul"]);
    expect(marked("ünïcode", "ÜNÏCODE")).toEqual(["ÜNÏCODE"]);
  });
});
