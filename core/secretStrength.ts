/**
 * Production refuses secrets that someone could guess: the placeholders of examples and compose
 * files, one character repeated, a short pattern repeated, a counting run, or too little variety.
 * These are heuristics. They catch the secrets people type or copy, and never a generated one
 * (`openssl rand -hex 32`): the thresholds leave wide room below what random values measure.
 */

/** Words of example and placeholder secrets, compared with letters and digits only, lower case. */
const PLACEHOLDER_WORDS = [
  "changeme",
  "replaceme",
  "secret",
  "password",
  "example",
  "placeholder",
  "insecure",
  "demoonly",
];

/** A run this long of symbols counting up or down (`abcdefgh`, `87654321`) is typed, not drawn. */
const COUNTING_RUN = 8;

/** Why `value` would be a guessable secret, or undefined when it looks random. */
export function textSecretWeakness(value: string, minBits: number): string | undefined {
  const folded = value.toLowerCase().replace(/[^a-z0-9]/g, "");
  const word = PLACEHOLDER_WORDS.find((w) => folded.includes(w));
  if (word) return `looks like a placeholder (it contains "${word}")`;
  return symbolWeakness(
    Array.from(value, (c) => c.codePointAt(0)!),
    "character",
    minBits,
  );
}

/** Why the bytes of a key would be guessable, or undefined when they look random. */
export function keyWeakness(key: Uint8Array, minBits: number): string | undefined {
  if (key.every((b) => b === 0)) return "is all zeros";
  const weakness = symbolWeakness(Array.from(key), "byte", minBits);
  if (weakness) return weakness;
  // Random bytes are all printable about once in 10^14 keys; a typed passphrase always is.
  if (key.every((b) => b >= 0x20 && b < 0x7f)) return "decodes to printable text, not random bytes";
  return undefined;
}

function symbolWeakness(symbols: number[], unit: string, minBits: number): string | undefined {
  const n = symbols.length;
  const counts = new Map<number, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  if (counts.size === 1) return `is one ${unit} repeated`;

  for (let period = 2; period <= n / 2; period++) {
    let repeats = true;
    for (let i = period; i < n && repeats; i++) repeats = symbols[i] === symbols[i - period];
    if (repeats) return `repeats a ${period}-${unit} pattern`;
  }

  let run = 1;
  for (let i = 1; i < n; i++) {
    const step = symbols[i]! - symbols[i - 1]!;
    const previous = i > 1 ? symbols[i - 1]! - symbols[i - 2]! : 0;
    if (Math.abs(step) !== 1) run = 1;
    else run = run > 1 && step === previous ? run + 1 : 2;
    if (run >= COUNTING_RUN) return `contains a counting run of ${COUNTING_RUN} ${unit}s`;
  }

  // Shannon entropy of the symbol frequencies, times the length: a generous upper bound of the
  // randomness in it, so falling below the floor is a sure sign of a weak secret.
  let bits = 0;
  for (const count of counts.values()) bits -= count * Math.log2(count / n);
  if (bits < minBits) {
    return `has too little randomness (about ${Math.floor(bits)} bits; at least ${minBits} needed)`;
  }
  return undefined;
}
