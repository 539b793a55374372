/** Exit codes a script can branch on (docs/cli.md lists them). */
export const EXIT = {
  ok: 0,
  /** The sync ran and failed (for example `reauth_required`). */
  failed: 1,
  /** Bad usage: unknown command or flag, a bad value, an unreadable --token-file. */
  usage: 2,
  /** No token, a refused or expired one (401), or one without the scope the command needs (403). */
  auth: 3,
  /** The server refused the request: 404, 409 sync_in_progress, 429 rate_limited, other 4xx. */
  refused: 4,
  /** The server could not be reached, failed (5xx) or answered something that is not JSON. */
  unavailable: 5,
  /** `health`: the account answered, and something needs a person (its `attention` is not empty). */
  attention: 6,
} as const;

/** A failure with its message (printed on stderr) and exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The page of the browser app where a person creates API tokens. */
export const settingsPage = (url: string) => `${url}/settings`;
