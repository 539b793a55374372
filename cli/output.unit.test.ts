import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { TaskSnapshot } from "../core/contract";
import { emailRows, senderAddress } from "./listCommands";
import { endQuietlyOnClosedStdout, type Output } from "./output";
import { progressPrinter } from "./progress";

function fakeOutput(live: boolean) {
  const seen = { data: [] as string[], progress: [] as string[] };
  const out: Output = {
    data: (line) => seen.data.push(line),
    json: (value) => seen.data.push(JSON.stringify(value)),
    note: () => {},
    progress: (text) => seen.progress.push(text),
    live,
  };
  return { out, seen };
}

const snapshot = (seq: number, percent: number, phase = "fetching", state = "active"): TaskSnapshot =>
  ({
    taskId: "t1",
    state,
    progress: { phase, processed: percent * 4, total: 400, percent },
    createdAt: "2026-01-05T09:00:00.000Z",
    at: 0,
    seq,
  }) as TaskSnapshot;

describe("CLI output", () => {
  it("piped, progress is a line per step: a new phase or state, or another 10 percent", () => {
    const { out, seen } = fakeOutput(false);
    const p = progressPrinter(out, false);
    [0, 1, 4, 9, 10, 11, 19, 25, 100].forEach((percent, i) => {
      p.print(snapshot(i + 1, percent, percent === 100 ? "done" : "fetching"));
    });
    p.print(snapshot(9, 100, "done")); // the same snapshot again
    p.end();
    expect(seen.data).toEqual([]);
    expect(seen.progress.map((l) => /(\d+)%/.exec(l)?.[1])).toEqual(["0", "10", "25", "100"]);
    expect(seen.progress.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true);
  });

  it("on a terminal, progress redraws one line; with --json each snapshot is a line of data", () => {
    const tty = fakeOutput(true);
    const bar = progressPrinter(tty.out, false);
    bar.print(snapshot(1, 5));
    bar.print(snapshot(2, 6));
    bar.end();
    expect(tty.seen.progress).toHaveLength(3);
    expect(tty.seen.progress[1]).toMatch(/^\r\[/);
    expect(tty.seen.progress[2]).toBe("\n");

    const piped = fakeOutput(false);
    const json = progressPrinter(piped.out, true);
    json.print(snapshot(1, 5));
    json.print(snapshot(2, 6));
    expect(piped.seen.progress).toEqual([]);
    expect(piped.seen.data.map((l) => JSON.parse(l).seq)).toEqual([1, 2]);
  });

  it("shows the sender's whole address (or the whole header with --wide) and the id, never cut", () => {
    const long =
      '"Maximilian Oberhuber-Schwarzenegger" <maximilian.oberhuber-schwarzenegger@verylongdomain.example.com>';
    expect(senderAddress(long)).toBe("maximilian.oberhuber-schwarzenegger@verylongdomain.example.com");
    expect(senderAddress("plain@example.com")).toBe("plain@example.com");
    const emails = [
      { id: "18c2a", date: "2026-01-05T09:00:00.000Z", from: long, subject: "Budget" },
      { id: "18c2a0f9", date: "2026-01-04T09:00:00.000Z", from: "Ann <a@b.c>", subject: "Hi" },
    ] as Parameters<typeof emailRows>[0];
    expect(emailRows(emails, false)).toEqual([
      "18c2a     2026-01-05  maximilian.oberhuber-schwarzenegger@verylongdomain.example.com  Budget",
      `18c2a0f9  2026-01-04  a@b.c${" ".repeat(57)}  Hi`,
    ]);
    expect(emailRows(emails, true)[0]).toContain(long);
  });

  it("a closed stdout (EPIPE) ends the program with 0; another write error with 5", () => {
    const codes: number[] = [];
    const stream = new EventEmitter() as unknown as NodeJS.WriteStream;
    endQuietlyOnClosedStdout(stream, (code) => codes.push(code));
    stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(codes).toEqual([0]);
    stream.emit("error", Object.assign(new Error("write EIO"), { code: "EIO" }));
    expect(codes).toEqual([0, 5]);
  });
});
