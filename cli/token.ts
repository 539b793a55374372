import { readFileSync } from "node:fs";

/** Where the CLI may take its API token from; see `resolveToken`. */
export interface TokenSources {
  /** `--token`: still accepted, but other users can read it in the process list and shell history. */
  flag?: string;
  /** `--token-file PATH`: the token is the file's content, surrounding whitespace ignored. */
  file?: string;
  /** INBOX_SYNC_TOKEN. */
  env?: string;
}

/** A token that cannot be had: the message says where to put one. */
export class TokenSourceError extends Error {
  constructor(
    message: string,
    /** No token was given at all (rather than a bad --token-file or flags). */
    readonly missing = false,
  ) {
    super(message);
  }
}

export const TOKEN_FLAG_WARNING =
  "warning: --token shows the API token to every user of this machine (process list) and keeps it in shell history; use INBOX_SYNC_TOKEN or --token-file instead";

const needOne = (settings: string) =>
  `an API token is needed in INBOX_SYNC_TOKEN or --token-file: create one at ${settings}`;

/**
 * The API token: `--token-file`, else `--token` (with `warn` called once), else INBOX_SYNC_TOKEN.
 * Both flags at once are refused, so a script never runs with a token it did not mean.
 */
export function resolveToken(
  sources: TokenSources,
  warn: (line: string) => void,
  read: (path: string) => string = (p) => readFileSync(p, "utf8"),
  /** The page where a person creates a token, named when none was given. */
  settings = "the app's /settings page",
): string {
  if (sources.flag !== undefined && sources.file !== undefined) {
    throw new TokenSourceError("give --token or --token-file, not both");
  }
  if (sources.file !== undefined) {
    let content: string;
    try {
      content = read(sources.file);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new TokenSourceError(`--token-file ${sources.file} could not be read (${reason})`);
    }
    const token = content.trim();
    if (!token) throw new TokenSourceError(`--token-file ${sources.file} is empty`);
    return token;
  }
  if (sources.flag !== undefined) {
    warn(TOKEN_FLAG_WARNING);
    if (sources.flag) return sources.flag;
  }
  if (sources.env) return sources.env;
  throw new TokenSourceError(needOne(settings), true);
}
