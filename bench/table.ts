import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";

/**
 * One benchmark row: our figure beside a baseline measured in the same run, on the same machine,
 * so the ratio travels between machines. A baseline is either a floor (the same work done by the
 * bare libraries, or a bound the work cannot beat) or only a reference (another thing measured
 * beside it: `GET /healthz`, the same sync at another size); the table says which. Lower is better
 * for latencies, memory and cost, higher for rates.
 */
export interface BenchRow {
  /** The goal's id in the issue tracker's table (P1, P2…); several rows may share one. */
  id: string;
  what: string;
  figure: number;
  /** What the floor measured, in the same unit; null where the goal is absolute. */
  baseline: number | null;
  baselineWhat: string;
  /** "reference" when the baseline is no floor; a floor otherwise. */
  baselineKind?: "floor" | "reference";
  /** Every run's ratio when the row is the median of several; the table shows their spread. */
  ratios?: number[];
  unit:
    | "ms"
    | "s"
    | "MB"
    | "kB"
    | "CPU s"
    | "messages/s"
    | "events/s"
    | "calls"
    | "syncs"
    | "units"
    | "units/message"
    | "%";
  /** The goal in words, e.g. "p99 ≤ 3× baseline". */
  goal: string;
  /** Whether the goal is met; null when this run cannot tell (a quick run's toy size). */
  met: boolean | null;
  note?: string;
  /** When the run that measured it started (rows of latest.json may come from several runs). */
  at?: string;
}

export interface BenchRun {
  at: string;
  quick: boolean;
  machine: { cpus: number; cpu: string; memoryGiB: number; node: string; platform: string };
  rows: BenchRow[];
}

export function machine(): BenchRun["machine"] {
  const list = cpus();
  return {
    cpus: list.length,
    cpu: list[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export const ratioOf = (row: Pick<BenchRow, "figure" | "baseline">): number | null =>
  row.baseline && row.baseline > 0 ? row.figure / row.baseline : null;

/**
 * The run of median ratio among `runs` (an odd count gives a real run, not an average), and every
 * run's ratio in run order for the spread.
 */
export function medianRun<T>(runs: T[], ratio: (run: T) => number): { mid: T; ratios: number[] } {
  const sorted = [...runs].sort((a, b) => ratio(a) - ratio(b));
  return { mid: sorted[Math.floor(sorted.length / 2)]!, ratios: runs.map(ratio) };
}

/**
 * `n` of `samples` spread evenly over them (all of them when there are no more): what a ticker
 * publishing `n` times over the same window would have measured.
 */
export function thinned(samples: readonly number[], n: number): number[] {
  if (samples.length <= n) return [...samples];
  return Array.from({ length: n }, (_, i) => samples[Math.floor(((i + 0.5) * samples.length) / n)]!);
}

const fmt = (n: number, unit: BenchRow["unit"]): string => {
  if (!Number.isFinite(n)) return "—";
  // Quota units per 100 messages sit about 1: a call more or less is in the third decimal.
  if (unit === "units") return `${n.toFixed(3)} ${unit}`;
  const digits =
    (unit === "ms" || unit === "CPU s" || unit === "units/message") && n < 10
      ? 2
      : ["ms", "MB", "s", "CPU s", "units/message"].includes(unit)
        ? 1
        : 0;
  return `${n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
};

const verdict = (met: boolean | null) => (met === null ? "n/a" : met ? "met" : "NOT met");

/** The table as Markdown: what `npm run bench` prints and the README shows. */
export function renderMarkdown(run: BenchRun): string {
  const head = ["| row | what | ours | baseline | ratio | goal | |", "|---|---|---|---|---|---|---|"];
  const lines = run.rows.map((r) => {
    const ratio = ratioOf(r);
    const kind = r.baselineKind === "reference" ? "reference: " : "floor: ";
    const base = r.baseline === null ? "—" : `${fmt(r.baseline, r.unit)} (${kind}${r.baselineWhat})`;
    const spread =
      r.ratios && r.ratios.length > 1
        ? ` (${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)} over ${r.ratios.length} runs)`
        : "";
    const name = r.baselineKind === "reference" ? `${r.what}, against a reference` : r.what;
    return `| ${r.id} | ${name}${r.note ? ` (${r.note})` : ""} | ${fmt(r.figure, r.unit)} | ${base} | ${
      ratio === null ? "—" : `${ratio.toFixed(2)}×${spread}`
    } | ${r.goal} | ${verdict(r.met)} |`;
  });
  const m = run.machine;
  const runs = [...new Set(run.rows.map((r) => r.at ?? run.at))].sort();
  const when = runs.length > 1 ? `Rows from runs of ${runs.join(", ")}` : `Run ${runs[0] ?? run.at}`;
  return [
    `${when}${run.quick ? " (quick: toy sizes, goals not judged)" : ""} on ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`,
    "",
    ...head,
    ...lines,
  ].join("\n");
}

export const RESULTS_DIR = path.resolve(import.meta.dirname, "results");

/** Goal ids in the order the table lists them (P1, P2, P3, P3c, …, P12). */
const goalNumber = (id: string) => Number(/\d+/.exec(id)?.[0] ?? 0);
const byGoal = (a: BenchRow, b: BenchRow) =>
  a.id.charAt(0).localeCompare(b.id.charAt(0)) || goalNumber(a.id) - goalNumber(b.id);

/**
 * Writes the run. A quick run goes to `latest-quick.json` alone. A real run (all rows, or some
 * with `--only`) replaces its goals' rows in `latest.json` and keeps the others, so that file
 * always holds the latest measured figure of every goal, each row stamped with its run. Answers
 * the file and the merged result.
 */
export function writeRun(run: BenchRun): { file: string; merged: BenchRun } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamped = run.rows.map((r) => ({ ...r, at: r.at ?? run.at }));
  if (run.quick) {
    const file = path.join(RESULTS_DIR, "latest-quick.json");
    const merged = { ...run, rows: stamped };
    writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
    return { file, merged };
  }
  const file = path.join(RESULTS_DIR, "latest.json");
  const previous: BenchRun | null = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
  const fresh = new Set(run.rows.map((r) => r.id));
  const kept = (previous?.rows ?? []).filter((r) => !fresh.has(r.id));
  const merged: BenchRun = { ...run, rows: [...kept, ...stamped].sort(byGoal) };
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  return { file, merged };
}
