import { defineConfig } from "vitest/config";

/**
 * `npm run test:cluster`: the app on a Redis Cluster (REDIS_CLUSTER_NODES) that the global setup
 * starts and stops itself (test/cluster/). Kept out of `npm test`, which runs on one Redis.
 */
export default defineConfig({
  test: {
    name: "cluster",
    include: ["test/cluster/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    globalSetup: ["./test/cluster/globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
