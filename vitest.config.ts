import { defineConfig } from "vitest/config";

/**
 * Tests that need no PostgreSQL, Redis, network or child process: pure rules and fakes, found by
 * name alone (`*.unit.test.ts`). They run alone with `npm run test:unit` (the `unit` project,
 * without the global setup that provisions a database and Redis) in a few seconds.
 */
export const UNIT_TESTS = ["**/*.unit.test.ts"];

const ALL_TESTS = [
  "core/**/*.test.ts",
  "server/**/*.test.ts",
  "worker/**/*.test.ts",
  "gmail-sim/**/*.test.ts",
  "scripts/**/*.test.ts",
  "cli/**/*.test.ts",
  "client/**/*.test.ts",
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: UNIT_TESTS,
          exclude: ["node_modules/**", "dist/**"],
          setupFiles: ["./test/noNetwork.ts"],
          // Pure tests share nothing worth isolating, and loading modules once per worker rather
          // than once per file halves the run.
          pool: "threads",
          isolate: false,
          // Before the integration tests, never beside them on a small machine.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ALL_TESTS,
          exclude: ["node_modules/**", "dist/**", ...UNIT_TESTS],
          sequence: { groupOrder: 1 },
          globalSetup: ["./test/globalSetup.ts"],
          // Integration tests share one PostgreSQL database and one Redis; running files one at a
          // time keeps them from competing for the two cores and makes failures readable.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: "forks",
        },
      },
    ],
  },
});
