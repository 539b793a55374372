import { describe, expect, it } from "vitest";
import { mailChangeOf, publishSnapshot, type SnapshotBroadcaster, type TaskSnapshot } from "./events";

const snapshot = (over: Partial<TaskSnapshot> = {}): TaskSnapshot => ({
  taskId: "t1",
  state: "completed",
  progress: { phase: "done", processed: 3, total: 3, percent: 100 },
  result: { added: 2, updated: 1, deleted: 0, mode: "incremental" },
  createdAt: "2026-11-29T17:00:00.000Z",
  at: 1,
  seq: 5,
  ...over,
});

/** A broadcaster that writes down every emit with its rooms. */
function recorder() {
  const sent: Array<{ rooms: string[]; event: string; payload: unknown }> = [];
  const via: SnapshotBroadcaster = {
    to: (room) => ({
      emit: (event: string, payload: unknown) => sent.push({ rooms: [room].flat(), event, payload }),
    }),
  };
  return { via, sent };
}

describe("mail:changed", () => {
  it("a completed sync that added, deleted or updated mail is a change; anything else is none", () => {
    expect(mailChangeOf(snapshot())).toEqual({ added: 2, deleted: 0, updated: 1, taskId: "t1" });
    expect(mailChangeOf(snapshot({ result: { added: 0, updated: 0, deleted: 0, mode: "full" } }))).toBeNull();
    expect(mailChangeOf(snapshot({ state: "active", result: undefined }))).toBeNull();
    expect(mailChangeOf(snapshot({ state: "failed", result: undefined }))).toBeNull();
  });

  it("publishSnapshot sends the snapshot to the task's and user's rooms, and the change to the user's room only", () => {
    const { via, sent } = recorder();
    publishSnapshot(via, "u1", snapshot());
    expect(sent).toEqual([
      { rooms: ["task:t1", "user:u1"], event: "sync:progress", payload: snapshot({ at: 1 }) },
      {
        rooms: ["user:u1"],
        event: "mail:changed",
        payload: { added: 2, deleted: 0, updated: 1, taskId: "t1" },
      },
    ]);
    const quiet = recorder();
    publishSnapshot(quiet.via, "u1", snapshot({ state: "active", result: undefined }));
    expect(quiet.sent.map((s) => s.event)).toEqual(["sync:progress"]);
  });
});
