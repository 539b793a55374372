import type { TaskSnapshot } from "../../core/contract";

/**
 * Keeps the highest `seq` seen per task and refuses anything lower or equal, so a late socket
 * event, a slow poll answer or a duplicate from two channels never moves the bar backwards.
 */
export class SnapshotGate {
  private readonly highest = new Map<string, number>();

  /** True when `snapshot` is newer than every snapshot of its task seen so far. */
  accept(snapshot: TaskSnapshot): boolean {
    if (typeof snapshot.seq !== "number") return !this.highest.has(snapshot.taskId);
    const last = this.highest.get(snapshot.taskId);
    if (last !== undefined && snapshot.seq <= last) return false;
    this.highest.set(snapshot.taskId, snapshot.seq);
    return true;
  }

  /** Whether a snapshot would be accepted, without recording it. */
  isNewer(snapshot: TaskSnapshot): boolean {
    const last = this.highest.get(snapshot.taskId);
    return last === undefined || (typeof snapshot.seq === "number" && snapshot.seq > last);
  }
}
