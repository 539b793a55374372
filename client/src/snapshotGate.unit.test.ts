import { describe, expect, it } from "vitest";
import type { TaskSnapshot } from "../../core/events";
import { SnapshotGate } from "./snapshotGate";

function snap(taskId: string, seq: number | undefined): TaskSnapshot {
  return {
    taskId,
    state: "active",
    progress: { phase: "fetching", processed: 1, total: 10, percent: 10 },
    createdAt: "2026-11-29T10:00:00.000Z",
    at: 0,
    seq: seq as number,
  };
}

describe("SnapshotGate: the bar never moves backwards", () => {
  it("accepts the first snapshot of a task and every higher seq after it", () => {
    const gate = new SnapshotGate();
    expect(gate.accept(snap("a", 1))).toBe(true);
    expect(gate.accept(snap("a", 2))).toBe(true);
    expect(gate.accept(snap("a", 10))).toBe(true);
  });

  it("refuses a duplicate (the same seq by socket and by poll) and a late, older snapshot", () => {
    const gate = new SnapshotGate();
    expect(gate.accept(snap("a", 5))).toBe(true);
    expect(gate.accept(snap("a", 5))).toBe(false);
    expect(gate.accept(snap("a", 4))).toBe(false);
    expect(gate.accept(snap("a", 1))).toBe(false);
  });

  it("a refused snapshot does not lower the mark: the next one must still beat the highest", () => {
    const gate = new SnapshotGate();
    gate.accept(snap("a", 7));
    gate.accept(snap("a", 3));
    expect(gate.accept(snap("a", 6))).toBe(false);
    expect(gate.accept(snap("a", 8))).toBe(true);
  });

  it("keeps one mark per task: a new task starts from nothing", () => {
    const gate = new SnapshotGate();
    expect(gate.accept(snap("a", 50))).toBe(true);
    expect(gate.accept(snap("b", 1))).toBe(true);
    expect(gate.accept(snap("a", 2))).toBe(false);
    expect(gate.accept(snap("b", 2))).toBe(true);
  });

  it("a snapshot without a seq (an older server) is accepted only while its task has none recorded", () => {
    const gate = new SnapshotGate();
    expect(gate.accept(snap("a", undefined))).toBe(true);
    expect(gate.accept(snap("a", undefined))).toBe(true);
    gate.accept(snap("a", 3));
    expect(gate.accept(snap("a", undefined))).toBe(false);
  });

  it("isNewer answers like accept but records nothing", () => {
    const gate = new SnapshotGate();
    expect(gate.isNewer(snap("a", 4))).toBe(true);
    expect(gate.isNewer(snap("a", 4))).toBe(true);
    gate.accept(snap("a", 4));
    expect(gate.isNewer(snap("a", 4))).toBe(false);
    expect(gate.isNewer(snap("a", 3))).toBe(false);
    expect(gate.isNewer(snap("a", 5))).toBe(true);
    expect(gate.isNewer(snap("a", undefined))).toBe(false);
    expect(gate.accept(snap("a", 5))).toBe(true);
  });
});
