import { describe, expect, it } from "vitest";
import { type BenchRow, type BenchRun, medianRun, renderMarkdown, thinned } from "./table";

const machine: BenchRun["machine"] = {
  cpus: 2,
  cpu: "test",
  memoryGiB: 4,
  node: "v20",
  platform: "linux x64",
};

const row = (over: Partial<BenchRow>): BenchRow => ({
  id: "P3",
  what: "a full sync",
  figure: 300,
  baseline: 600,
  baselineWhat: "bare pipeline",
  unit: "messages/s",
  goal: "≥ 0.7× floor (median)",
  met: false,
  ...over,
});

describe("medianRun", () => {
  it("answers the run whose ratio is the median, not an average, and every ratio in run order", () => {
    const runs = [
      { app: 50, floor: 100 },
      { app: 90, floor: 100 },
      { app: 70, floor: 100 },
    ];
    const { mid, ratios } = medianRun(runs, (r) => r.app / r.floor);
    expect(mid).toBe(runs[2]);
    expect(ratios).toEqual([0.5, 0.9, 0.7]);
  });

  it("answers the only run of a quick bench", () => {
    const only = { app: 1, floor: 4 };
    expect(medianRun([only], (r) => r.app / r.floor)).toEqual({ mid: only, ratios: [0.25] });
  });
});

describe("thinned", () => {
  it("keeps n samples spread over the whole window", () => {
    const samples = Array.from({ length: 100 }, (_, i) => i);
    expect(thinned(samples, 4)).toEqual([12, 37, 62, 87]);
  });

  it("keeps every sample when there are no more than asked", () => {
    expect(thinned([3, 1, 2], 5)).toEqual([3, 1, 2]);
  });
});

describe("renderMarkdown", () => {
  const run = (rows: BenchRow[]): string =>
    renderMarkdown({ at: "2026-01-01T00:00:00Z", quick: false, machine, rows });

  it("names a floor as a floor and shows the spread of a median's runs", () => {
    const line = run([row({ ratios: [0.46, 0.5, 0.57] })])
      .split("\n")
      .at(-1)!;
    expect(line).toContain("(floor: bare pipeline)");
    expect(line).toContain("0.50× (0.46–0.57 over 3 runs)");
    expect(line).toContain("NOT met");
  });

  it("says in the row's name and baseline when the baseline is only a reference", () => {
    const line = run([
      row({ what: "GET /api/me: p99", unit: "ms", baselineKind: "reference", baselineWhat: "GET /healthz" }),
    ])
      .split("\n")
      .at(-1)!;
    expect(line).toContain("GET /api/me: p99, against a reference");
    expect(line).toContain("(reference: GET /healthz)");
    expect(line).not.toContain("floor:");
  });

  it("shows quota units to the third decimal, where one call more in a thousand is seen", () => {
    const line = run([row({ figure: 1.002, baseline: 1, unit: "units", goal: "≤ 1 unit per 100 messages" })])
      .split("\n")
      .at(-1)!;
    expect(line).toContain("| 1.002 units | 1.000 units (floor:");
  });
});
