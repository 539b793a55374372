import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Where SQL lives: only core/repositories (and core/db: the connection, models, migrations) run
 * SQL or touch Sequelize. Everything else reaches PostgreSQL through a repository, so one folder
 * holds every statement a reviewer has to read.
 */
const ROOT = join(import.meta.dirname, "../..");
const SCANNED = ["core", "server", "worker", "cli", "scripts", "client/src"];
const ALLOWED = [/^core\/repositories\//, /^core\/db\//];
/** Creates and drops whole databases for dev and test runs; it reads or writes no app data. */
const PROVISIONING = ["scripts/lib/devServices.ts"];

const RULES: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /from\s+["']sequelize["']|import\(\s*["']sequelize["']\s*\)/, why: "imports sequelize" },
  { pattern: /from\s+["']pg["']/, why: "imports pg" },
  { pattern: /from\s+["'][^"']*\/db\/models(\/[^"']*)?["']/, why: "imports a Sequelize model" },
  { pattern: /\.query\s*[<(]/, why: "runs a query" },
  { pattern: /\.transaction\s*\(/, why: "opens a transaction" },
  { pattern: /\.(sequelize|models)\b/, why: "reaches into a database instance or its models" },
  {
    pattern: /\bSELECT\b[^;`"']*?\bFROM\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b/,
    why: "holds SQL",
  },
];

/** What `source` does that only a repository may; one line per finding. */
function violations(path: string, source: string): string[] {
  const found: string[] = [];
  source.split("\n").forEach((line, i) => {
    for (const { pattern, why } of RULES)
      if (pattern.test(line)) found.push(`${path}:${i + 1} ${why}: ${line.trim()}`);
  });
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe("where SQL lives", () => {
  it("no file outside core/repositories and core/db imports Sequelize or a model, or runs SQL", () => {
    const files = SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir)))
      .map((path) => relative(ROOT, path).split("\\").join("/"))
      .filter((path) => !ALLOWED.some((allowed) => allowed.test(path)) && !PROVISIONING.includes(path));
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((path) => violations(path, readFileSync(join(ROOT, path), "utf8")));
    expect(found).toEqual([]);
  });

  it("the check catches each way around a repository", () => {
    const samples = [
      'import { Op } from "sequelize";',
      'import type { Sequelize } from "sequelize";',
      'import { User } from "../core/db/models";',
      'import type { SyncTask } from "../db/models/SyncTask";',
      'import { Client } from "pg";',
      "await ctx.sequelize.query('SELECT 1');",
      "const rows = await db.query<Row>(sql);",
      "await sequelize.transaction(async (t) => {});",
      "const { User } = ctx.models;",
      "const sql = `SELECT id FROM sync_tasks WHERE user_id = $1`;",
      'run("INSERT INTO emails (id) VALUES (1)");',
      'run("UPDATE gmail_accounts SET status = 1");',
      'run("DELETE FROM sessions");',
    ];
    for (const sample of samples) expect(violations("x.ts", sample), sample).not.toEqual([]);
    const fine = [
      'import { TaskService } from "../core/services/TaskService";',
      "const task = await ctx.tasks.findById(id);",
      "// Select the newest task from the list",
      'const query = new URLSearchParams("q=1");',
    ];
    for (const sample of fine) expect(violations("x.ts", sample), sample).toEqual([]);
  });
});
