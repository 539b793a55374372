/**
 * The charsets the simulator seeds and parses: UTF-8, ISO-8859-1 and windows-1252, by hand because
 * Node's TextDecoder reads windows-1252's 0x80–0x9F as ISO-8859-1's control codes.
 */
/** Encodes text into a charset the simulator seeds: UTF-8, ISO-8859-1 or windows-1252. */
export function encodeCharset(text: string, charset: string): Buffer {
  const name = charset.toLowerCase();
  if (name === "utf-8" || name === "utf8") return Buffer.from(text, "utf8");
  const bytes: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const cp1252 = name === "windows-1252" ? WINDOWS_1252_HIGH.get(code) : undefined;
    if (cp1252 !== undefined) bytes.push(cp1252);
    else if (code <= 0xff && !(name === "windows-1252" && code >= 0x80 && code <= 0x9f)) bytes.push(code);
    else bytes.push(0x3f);
  }
  return Buffer.from(bytes);
}

/** The characters windows-1252 puts in 0x80–0x9F (where ISO-8859-1 has control codes). */
const WINDOWS_1252_HIGH = new Map<number, number>([
  [0x20ac, 0x80],
  [0x201a, 0x82],
  [0x0192, 0x83],
  [0x201e, 0x84],
  [0x2026, 0x85],
  [0x2020, 0x86],
  [0x2021, 0x87],
  [0x02c6, 0x88],
  [0x2030, 0x89],
  [0x0160, 0x8a],
  [0x2039, 0x8b],
  [0x0152, 0x8c],
  [0x017d, 0x8e],
  [0x2018, 0x91],
  [0x2019, 0x92],
  [0x201c, 0x93],
  [0x201d, 0x94],
  [0x2022, 0x95],
  [0x2013, 0x96],
  [0x2014, 0x97],
  [0x02dc, 0x98],
  [0x2122, 0x99],
  [0x0161, 0x9a],
  [0x203a, 0x9b],
  [0x0153, 0x9c],
  [0x017e, 0x9e],
  [0x0178, 0x9f],
]);

const WINDOWS_1252_LOW = new Map([...WINDOWS_1252_HIGH].map(([code, byte]) => [byte, code]));

/** Decodes a part's bytes to a string (for snippets and search); unknown charsets read as UTF-8. */
export function decodeCharset(data: Buffer, charset: string | undefined): string {
  // Node 20's TextDecoder reads windows-1252's 0x80–0x9F as C1 controls (as ISO-8859-1).
  if (charset && /^(windows-1252|cp1252|iso-8859-1|latin1|us-ascii)$/i.test(charset)) {
    let out = "";
    for (const byte of data) out += String.fromCharCode(WINDOWS_1252_LOW.get(byte) ?? byte);
    return out;
  }
  try {
    return new TextDecoder(charset || "utf-8").decode(data);
  } catch {
    return new TextDecoder("utf-8").decode(data);
  }
}
