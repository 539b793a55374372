/**
 * Which parts of a text a search matched, for highlighting. It follows the server's search
 * (core/repositories/email.repository.ts, ADR 0012): `q` is read as `websearch_to_tsquery('simple')`
 * reads it, so
 * - words match whole and without regard to case, never as part of a longer word (no stemming:
 *   `invoice` does not match `invoices`); a word of letters and digits joined by `@ . _ ' -`
 *   (an address, a file name) is one word, and its parts match on their own as well;
 * - the words of a "quoted phrase" are highlighted like any other word;
 * - `-word` and `-"a phrase"` exclude: what they name is not highlighted; `or` is an operator;
 * - where the words match nothing the server falls back to the query as typed, as a substring of
 *   subject, sender and snippet, and so does this, in a text where no word matched.
 */

/** What a query highlights. */
export interface SearchTerms {
  /** The words, lower case, longest first (so a longer word wins where two start together). */
  words: string[];
  /** The query as typed (trimmed): the server's substring fallback. */
  literal: string;
}

/** A part of a text to highlight: `[start, end)` in UTF-16 code units. */
export type Range = readonly [start: number, end: number];

const WORD = /[\p{L}\p{N}]+(?:['._@-][\p{L}\p{N}]+)*/gu;
const PART = /[\p{L}\p{N}]+/gu;

/** The highlightable words and the literal of a search query; empty when there is nothing to mark. */
export function searchTerms(q: string): SearchTerms {
  const literal = q.trim();
  const words = new Set<string>();
  const excluded = new Set<string>();
  // Quoted phrases, negated or not, then the bare words around them.
  const chunks = /(-?)"([^"]*)"?|(\S+)/g;
  for (const [, minus, phrase, bare] of literal.matchAll(chunks)) {
    const negated = phrase !== undefined ? minus === "-" : bare!.startsWith("-");
    const text = phrase ?? bare!;
    if (phrase === undefined && /^or$/i.test(text)) continue;
    for (const [word] of text.matchAll(WORD)) {
      const into = negated ? excluded : words;
      into.add(word.toLowerCase());
      // The parser also indexes the parts of a compound (foo-bar: foo, bar).
      const parts = [...word.matchAll(PART)];
      if (parts.length > 1) for (const [part] of parts) into.add(part.toLowerCase());
    }
  }
  for (const word of excluded) words.delete(word);
  return { words: [...words].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)), literal };
}

/** Whether `terms` mark anything at all. */
export const hasTerms = (terms: SearchTerms): boolean => terms.words.length > 0 || terms.literal.length > 0;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The parts of `text` to highlight, in order and never overlapping: whole-word matches of the
 * terms' words, or, when none matches, each occurrence of the literal query.
 */
export function matchRanges(text: string, terms: SearchTerms): Range[] {
  if (!text) return [];
  const { words, literal } = patternsOf(terms);
  const ranges: Range[] = [];
  if (words) {
    for (const m of text.matchAll(words)) if (m[0]) ranges.push([m.index, m.index + m[0].length]);
    if (ranges.length) return ranges;
  }
  if (literal) for (const m of text.matchAll(literal)) ranges.push([m.index, m.index + m[0].length]);
  return ranges;
}

/** The expressions of a set of terms, made once: a mail may have thousands of text nodes. */
const patterns = new WeakMap<SearchTerms, { words: RegExp | null; literal: RegExp | null }>();

function patternsOf(terms: SearchTerms): { words: RegExp | null; literal: RegExp | null } {
  let made = patterns.get(terms);
  if (!made) {
    made = {
      words: terms.words.length
        ? new RegExp(
            `(?<![\\p{L}\\p{N}])(?:${terms.words.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}])`,
            "giu",
          )
        : null,
      literal: terms.literal ? new RegExp(escapeRegExp(terms.literal), "giu") : null,
    };
    patterns.set(terms, made);
  }
  return made;
}
