/**
 * Where the CLI writes. stdout carries data only (results, NDJSON), so it pipes into `jq`, `head`
 * or a file; everything said to a person (notes, progress, errors) goes to stderr.
 */

export interface Output {
  /** One line of data on stdout. */
  data(line: string): void;
  /** One value as a line of NDJSON on stdout. */
  json(value: unknown): void;
  /** A line for the person at the terminal, on stderr. */
  note(line: string): void;
  /** Raw text on stderr (the live progress bar redraws with `\r`). */
  progress(text: string): void;
  /** stderr is a terminal: progress may redraw one line in place. */
  readonly live: boolean;
  /** The terminal's width, when it is one: a redrawn line must fit. */
  readonly columns?: number;
}

/** The process's own streams. */
export function processOutput(): Output {
  return {
    data: (line) => process.stdout.write(`${line}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    note: (line) => process.stderr.write(`${line}\n`),
    progress: (text) => process.stderr.write(text),
    live: Boolean(process.stderr.isTTY),
    get columns() {
      return process.stderr.columns;
    },
  };
}

/**
 * A reader that stops early (`| head -1`, a pager quit) closes the pipe and the next write fails
 * with EPIPE. That is the reader's choice, not a failure: end at once with 0 and no message, as
 * `cat` and `grep` do. Any other stdout error is reported and ends with `failCode`.
 */
export function endQuietlyOnClosedStdout(
  stream: NodeJS.WriteStream = process.stdout,
  exit: (code: number) => void = (code) => process.exit(code),
  failCode = 5,
): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") return exit(0);
    process.stderr.write(`inbox-sync: cannot write the output: ${err.message}\n`);
    exit(failCode);
  });
}
