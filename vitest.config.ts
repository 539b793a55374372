import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "core/**/*.test.ts",
      "server/**/*.test.ts",
      "worker/**/*.test.ts",
      "gmail-sim/**/*.test.ts",
      "scripts/**/*.test.ts",
      "cli/**/*.test.ts",
      "client/**/*.test.ts",
    ],
    globalSetup: ["./test/globalSetup.ts"],
    // Integration tests share one PostgreSQL database and one Redis; running files one at a
    // time keeps them from competing for the two cores and makes failures readable.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
