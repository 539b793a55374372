/**
 * Google's partial-response `fields` parameter, e.g. `messages(id,threadId),nextPageToken` or
 * `payload/headers`: keeps only the selected parts of an answer.
 */

export type FieldTree = Map<string, FieldTree | null>;

/** Parses a `fields` selector; throws on malformed input. */
export function parseFields(selector: string): FieldTree {
  let pos = 0;
  const text = selector.replace(/\s+/g, "");

  function parseList(): FieldTree {
    const tree: FieldTree = new Map();
    for (;;) {
      parseItem(tree);
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      return tree;
    }
  }

  function name(): string {
    const start = pos;
    while (pos < text.length && /[A-Za-z0-9_*]/.test(text[pos]!)) pos++;
    if (pos === start) throw new Error(`Invalid field selection at position ${start + 1}`);
    return text.slice(start, pos);
  }

  function parseItem(into: FieldTree): void {
    const path = [name()];
    while (text[pos] === "/") {
      pos++;
      path.push(name());
    }
    let leaf: FieldTree | null = null;
    if (text[pos] === "(") {
      pos++;
      leaf = parseList();
      if (text[pos] !== ")") throw new Error("Invalid field selection: missing ')'");
      pos++;
    }
    let node = into;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const last = i === path.length - 1;
      const existing = node.get(key);
      if (last) {
        if (existing === undefined || leaf === null) node.set(key, leaf);
        else if (existing !== null) for (const [k, v] of leaf) existing.set(k, v);
      } else {
        if (existing === null) break; // already selected whole
        const child: FieldTree = existing ?? new Map();
        node.set(key, child);
        node = child;
      }
    }
  }

  const tree = parseList();
  if (pos !== text.length) throw new Error(`Invalid field selection at position ${pos + 1}`);
  return tree;
}

export function applyFields(value: unknown, tree: FieldTree): unknown {
  if (Array.isArray(value)) return value.map((item) => applyFields(item, tree));
  if (value === null || typeof value !== "object") return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const all = tree.get("*");
  for (const key of Object.keys(source)) {
    const sub = tree.has(key) ? tree.get(key) : all;
    if (sub === undefined) continue;
    out[key] = sub === null ? source[key] : applyFields(source[key], sub);
  }
  return out;
}
