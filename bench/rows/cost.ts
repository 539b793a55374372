import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import pg from "pg";

/** CPU seconds (user + system, all threads) of a process on this machine, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks: 100 a second on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The local ports of `pid`'s TCP connections to `remotePort`: its socket inodes (/proc/<pid>/fd)
 * looked up in the kernel's connection tables. PostgreSQL names each backend's client by that
 * port (pg_stat_activity.client_port), which is how a process's own backends are told apart from
 * those of every other process on the same database.
 */
export function clientPortsOf(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed between the listing and the read
    }
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
      const local = Number.parseInt(cols[1]!.split(":")[1]!, 16);
      const remote = Number.parseInt(cols[2]!.split(":")[1]!, 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

/**
 * CPU a process spends, with that of the PostgreSQL backends serving it, over a stretch of time.
 * The backends are found every 200 ms (a pool opens and closes connections as it likes): one seen
 * at the start counts from its reading then, one opened later from zero (its start-up included),
 * and each to its last reading. A backend that exits between two readings loses at most 200 ms of
 * its CPU. PostgreSQL's shared processes (WAL writer, checkpointer, autovacuum) serve every
 * database of the cluster and are counted for no one.
 */
export class CpuMeter {
  private readonly db: pg.Client;
  private readonly backends = new Map<number, { first: number; last: number }>();
  private timer: NodeJS.Timeout | null = null;
  private selfAt = 0;
  private reading: Promise<void> = Promise.resolve();
  private readonly pgPort: number;

  constructor(
    private readonly pid: number,
    databaseUrl: string,
  ) {
    this.db = new pg.Client({ connectionString: databaseUrl });
    this.pgPort = Number(new URL(databaseUrl).port || 5432);
  }

  async start(): Promise<void> {
    await this.db.connect();
    this.selfAt = cpuSecondsOf(this.pid);
    await this.read(true);
    this.timer = setInterval(() => {
      this.reading = this.reading.then(() => this.read(false)).catch(() => {});
    }, 200);
  }

  /** CPU seconds since start: the process's own, and its backends'. */
  async stop(): Promise<{ selfS: number; pgS: number }> {
    if (this.timer) clearInterval(this.timer);
    await this.reading;
    await this.read(false);
    const selfS = cpuSecondsOf(this.pid) - this.selfAt;
    await this.db.end();
    let pgS = 0;
    for (const b of this.backends.values()) pgS += b.last - b.first;
    return { selfS, pgS };
  }

  private async read(initial: boolean): Promise<void> {
    const ports = clientPortsOf(this.pid, this.pgPort);
    if (ports.length === 0) return;
    const { rows } = await this.db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])",
      [ports],
    );
    for (const { pid } of rows) {
      let now: number;
      try {
        now = cpuSecondsOf(pid);
      } catch {
        continue;
      }
      const seen = this.backends.get(pid);
      if (seen) seen.last = now;
      else this.backends.set(pid, { first: initial ? now : 0, last: now });
    }
  }
}

/**
 * Bytes the `emails` table holds, every partition with its indexes and TOAST: a run's delta is
 * what it left on disk for the rows it stored.
 */
export async function emailsBytes(databaseUrl: string): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(relid)), 0) AS bytes
       FROM pg_partition_tree('emails') WHERE isleaf`,
    );
    return Number(rows[0]!.bytes);
  } finally {
    await db.end();
  }
}
