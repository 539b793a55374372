import path from "node:path";
import type { z } from "zod";
import { envSchema } from "../../core/config";

/**
 * docs/configuration.md, rendered from `envSchema`: each variable's description and `unset` text
 * come from its `.meta()`, its default from parsing an empty environment. Only the grouping and
 * the introduction are written here.
 */

/** Where the page lives. */
export const CONFIG_REFERENCE_PATH = path.join(import.meta.dirname, "../../docs/configuration.md");

/** The command that rewrites the page; failure messages name it. */
export const CONFIG_REFERENCE_COMMAND = "npm run docs:config";

/** A section of the page: its heading and its variables, in order. */
export interface ConfigGroup {
  title: string;
  variables: readonly string[];
}

/** What the page is rendered from; tests pass a schema of their own. */
export interface ReferenceSource {
  schema: z.ZodObject;
  groups: readonly ConfigGroup[];
}

/** The page's sections in order. Every schema variable belongs to exactly one. */
export const CONFIG_GROUPS: readonly ConfigGroup[] = [
  {
    title: "Server",
    variables: ["NODE_ENV", "PORT", "HOST", "PUBLIC_URL", "TRUST_PROXY", "INBOX_SYNC_DEMO", "DATA_DIR"],
  },
  { title: "Database", variables: ["DATABASE_URL", "DATABASE_POOL_MAX"] },
  {
    title: "Redis and queues",
    variables: [
      "REDIS_URL",
      "QUEUE_PREFIX",
      "REDIS_CLUSTER_NODES",
      "REDIS_CLUSTER_USERNAME",
      "REDIS_CLUSTER_PASSWORD",
      "REDIS_CLUSTER_TLS",
      "SYNC_QUEUE_SHARDS",
      "WORKER_QUEUE_SHARDS",
    ],
  },
  {
    title: "Google and Gmail",
    variables: [
      "GOOGLE_CLIENT_ID",
      "GOOGLE_CLIENT_SECRET",
      "GMAIL_SIM_URL",
      "GMAIL_API_ROOT",
      "GOOGLE_AUTH_URL",
      "GOOGLE_TOKEN_URL",
      "GOOGLE_REVOKE_URL",
      "GOOGLE_CERTS_URL",
      "GOOGLE_ISSUER",
      "GMAIL_BATCH_SIZE",
    ],
  },
  {
    title: "Gmail quota",
    variables: [
      "GMAIL_QUOTA_PROFILE",
      "GMAIL_USER_UNITS_PER_MINUTE",
      "GMAIL_PROJECT_UNITS_PER_MINUTE",
      "GMAIL_PROJECT_UNITS_PER_DAY",
      "GMAIL_METHOD_COSTS",
      "GMAIL_USER_UNITS_PER_SECOND",
      "GMAIL_PROJECT_UNITS_PER_SECOND",
    ],
  },
  {
    title: "Push and the schedule",
    variables: [
      "GMAIL_PUSH_TOPIC",
      "GMAIL_PUSH_AUDIENCE",
      "GMAIL_PUSH_SERVICE_ACCOUNT",
      "GMAIL_PUSH_JWKS_URL",
      "GMAIL_PUSH_LABEL_IDS",
      "GMAIL_PUSH_LABEL_FILTER",
      "SYNC_DEBOUNCE_MS",
      "SYNC_SCHEDULE_INTERVAL_SECONDS",
      "SYNC_SCHEDULE_ACTIVE_DAYS",
      "COMPLETENESS_CHECK_DAYS",
    ],
  },
  {
    title: "Sync and workers",
    variables: [
      "WORKER_CONCURRENCY",
      "TASK_LEASE_SECONDS",
      "WORKER_LOCK_SECONDS",
      "SYNC_SLICE_SECONDS",
      "WORKER_HEARTBEAT_TTL",
      "WORKER_NICE",
      "WORKER_METRICS_PORT",
    ],
  },
  {
    title: "Security and limits",
    variables: [
      "SESSION_SECRET",
      "TOKEN_ENCRYPTION_KEY",
      "TOKEN_ENCRYPTION_KEYS_OLD",
      "SESSION_IDLE_HOURS",
      "SOCKET_RECHECK_SECONDS",
      "METRICS_TOKEN",
      "ADMIN_SUBS",
      "ADMIN_EMAILS",
      "RATE_LIMIT_SIGN_IN",
      "RATE_LIMIT_BAD_TOKEN",
      "RATE_LIMIT_SYNC",
      "RATE_LIMIT_TOKEN_CREATE",
      "RATE_LIMIT_SOCKET_CONNECT",
      "RATE_LIMIT_SUBSCRIBE",
      "RATE_LIMIT_STREAMS",
      "RATE_LIMIT_FEED_FOLLOWERS",
      "RATE_LIMIT_GMAIL_PUSH",
    ],
  },
  { title: "Change feed", variables: ["CHANGE_FEED_RETENTION_DAYS"] },
  { title: "Logging", variables: ["LOG_LEVEL"] },
];

/** What the page needs of a variable's `.meta()`. */
interface VariableMeta {
  description?: string;
  /** What holds when the variable is unset, where the parsed default cannot say. */
  unset?: string;
}

const PRODUCT: ReferenceSource = { schema: envSchema, groups: CONFIG_GROUPS };

function metaOf(schema: z.ZodObject, name: string): VariableMeta {
  return (schema.shape[name]?.meta() ?? {}) as VariableMeta;
}

/** Schema variables no group names, group entries that are no schema variable, and repeats. */
export function groupingDrift(source: ReferenceSource = PRODUCT): {
  ungrouped: string[];
  unknown: string[];
  repeated: string[];
} {
  const variables = Object.keys(source.schema.shape);
  const grouped = source.groups.flatMap((g) => g.variables);
  return {
    ungrouped: variables.filter((name) => !grouped.includes(name)),
    unknown: grouped.filter((name) => !variables.includes(name)),
    repeated: grouped.filter((name, i) => grouped.indexOf(name) !== i),
  };
}

/** Variables whose schema carries no description. */
export function undescribedVariables(schema: z.ZodObject = envSchema): string[] {
  return Object.keys(schema.shape).filter((name) => !metaOf(schema, name).description?.trim());
}

/** A parsed default as an operator writes it: lists comma-separated, rate limits as points/seconds. */
function formatDefault(value: unknown): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : `\`${value.join(",")}\``;
  if (typeof value === "object" && value !== null && "points" in value && "duration" in value) {
    return `\`${value.points}/${value.duration}\``;
  }
  return `\`${String(value)}\``;
}

/** `docs/x.md#y` in a description is a link from this page, which lives in docs/ itself. */
function linkDocs(text: string): string {
  return text.replace(/docs\/([\w-]+\.md)(#[\w-]+)?/g, (_, file: string, anchor = "") => {
    return `[${file}](${file}${anchor})`;
  });
}

const cell = (text: string) => text.replaceAll("|", "\\|");

function table(
  schema: z.ZodObject,
  variables: readonly string[],
  defaults: Record<string, unknown>,
): string[] {
  const rows = variables.map((name) => {
    const meta = metaOf(schema, name);
    const fallback = meta.unset ?? formatDefault(defaults[name]) ?? "—";
    return `| \`${name}\` | ${cell(fallback)} | ${cell(linkDocs(meta.description ?? ""))} |`;
  });
  return ["| variable | default | description |", "|---|---|---|", ...rows];
}

/**
 * The page as `npm run docs:config` writes it. Throws when a variable has no group or no
 * description, so the page can never leave one out.
 */
export function renderConfigReference(source: ReferenceSource = PRODUCT): string {
  const drift = groupingDrift(source);
  const problems = [
    ...drift.ungrouped.map((n) => `${n} is in no group of scripts/lib/configReference.ts`),
    ...drift.unknown.map((n) => `${n} is grouped but not in core/config.ts's envSchema`),
    ...drift.repeated.map((n) => `${n} is in more than one group`),
    ...undescribedVariables(source.schema).map((n) => `${n} has no description in core/config.ts`),
  ];
  if (problems.length > 0) throw new Error(`configuration reference: ${problems.join("; ")}`);
  const defaults = source.schema.parse({}) as Record<string, unknown>;
  const sections = source.groups.flatMap((g) => [
    "",
    `## ${g.title}`,
    "",
    ...table(source.schema, g.variables, defaults),
  ]);
  return `${[...INTRO, ...sections].join("\n")}\n`;
}

const INTRO = [
  "<!-- Generated from core/config.ts by `npm run docs:config`; edit the schema's descriptions, not this file. -->",
  "",
  "# Configuration",
  "",
  "Every variable is read and checked in one place (`core/config.ts`), once, when a process starts. A",
  "bad value stops the process with one line that names the variable, for example",
  "`web: Invalid configuration: PORT Too big: expected number to be <=65535`. An empty variable",
  "(`VAR=`) counts as unset. Every web and worker process must share `SESSION_SECRET` and",
  "`TOKEN_ENCRYPTION_KEY`; generate production secrets with `openssl rand -hex 32`.",
  "",
  "## Production refuses unsafe settings",
  "",
  "**`NODE_ENV` must be named.** Every rule below applies when `NODE_ENV=production`. Unset, it",
  "means `development`, so a deployment that forgot it would run with none of them: `NODE_ENV`",
  "unset beside an https `PUBLIC_URL` or a `GOOGLE_CLIENT_ID` of its own (not the development",
  "client `inbox-sync-dev`) stops start-up (see [hardening.md](hardening.md)).",
  "",
  "With `NODE_ENV=production`, web, worker and migrate start only when all of these hold, and",
  "otherwise stop with one line naming the first variable at fault (`web: Invalid configuration:",
  "GMAIL_SIM_URL must not be set when NODE_ENV=production (INBOX_SYNC_DEMO=1 allows it for a demo)`):",
  "",
  "1. `DATABASE_URL`, `PUBLIC_URL`, `SESSION_SECRET` and `TOKEN_ENCRYPTION_KEY` are set.",
  "2. The secrets are strong. `SESSION_SECRET`, `TOKEN_ENCRYPTION_KEY` and `METRICS_TOKEN` (when set)",
  "   are refused when they are one character repeated, a short pattern repeated, a counting run",
  "   (`abcdefgh`, `0123…`), too uniform (estimated under 80 bits for the text secrets, under 128",
  "   bits for the key's 32 bytes), or a placeholder (`change-me`, `secret`, `password`, `example`,",
  "   `demo-only`…). The key is also refused when it is all zeros or decodes to printable text.",
  "3. `GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET` are set, and are not the development client's.",
  "4. `GMAIL_SIM_URL` is not set, and every Google endpoint (`GMAIL_API_ROOT`, `GOOGLE_AUTH_URL`,",
  "   `GOOGLE_TOKEN_URL`, `GOOGLE_REVOKE_URL`, `GOOGLE_CERTS_URL`) and `PUBLIC_URL` is https, with no",
  "   exception for `localhost`.",
  "5. While `GMAIL_PUSH_TOPIC` is set, `GMAIL_PUSH_SERVICE_ACCOUNT` names the push subscription's",
  "   service account (any Google account can mint a Google-signed token for any audience), and",
  "   `GMAIL_PUSH_JWKS_URL` is https.",
  "",
  "`INBOX_SYNC_DEMO=1` lifts rules 3 and 4 and the https part of rule 5, never rules 1 and 2 or the",
  "service account; every web and worker process then logs `demo switch on (INBOX_SYNC_DEMO=1): …`",
  "at start. Its cookies follow `PUBLIC_URL`: not Secure over plain http.",
  "",
  "Defaults that differ by mode or need a decision:",
  "",
  "- `HOST` unset is `127.0.0.1` outside production and `0.0.0.0` in production.",
  "- `TRUST_PROXY` trusts `X-Forwarded-For` from hops on this host or a private network only. Behind",
  "  a proxy or load balancer on a public address, name it, or every client shares its address and",
  "  its per-IP rate limits ([proxies.md](proxies.md)).",
  "- `METRICS_TOKEN` unset means no `/metrics` at all (404), on web nodes and workers alike.",
  "- `ADMIN_SUBS`, once set, alone decides who opens `/admin/queues`; `ADMIN_EMAILS` is then",
  "  ignored. An address can pass to someone new at Google, an account id cannot.",
  "",
  "The sections below list every variable: its default when unset, and what it does.",
];
