import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import proxyaddr from "proxy-addr";
import { z } from "zod";
import {
  type GmailQuotaTable,
  QUOTA_PROFILES,
  QuotaSettingError,
  resolveQuotaTable,
} from "./gmail/quotaProfile";
import { keyWeakness, textSecretWeakness } from "./secretStrength";
import { MAX_CALL_COST } from "./sync/QuotaGate";

/**
 * The only reader of `process.env`. Every process (web, worker, migrate, start) calls
 * `loadConfig()` once at start; a bad value stops it with one line naming the variable.
 */

const GOOGLE_DEFAULTS = {
  apiRoot: "https://gmail.googleapis.com/",
  authUrl: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.googleapis.com/token",
  revokeUrl: "https://oauth2.googleapis.com/revoke",
  /** Google's ID-token signing keys as PEM certificates, the form google-auth-library reads in Node. */
  certsUrl: "https://www.googleapis.com/oauth2/v1/certs",
  /** OpenID Connect Core 3.1.3.7 / Google's docs: its ID tokens carry either form. */
  issuers: ["https://accounts.google.com", "accounts.google.com"],
};

/** The OAuth client of development and of the simulator, which accepts any client. */
const DEV_CLIENT = { id: "inbox-sync-dev", secret: "inbox-sync-dev-secret" };

const KEY_FORMAT = /^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/]{43}=$/;

const optionalUrl = z.url().optional();
/** A comma-separated list: items trimmed, empty ones dropped. */
const commaList = (v: string) =>
  v
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * TRUST_PROXY: a hop count, or the addresses of the hops that may name the client (addresses,
 * CIDRs and proxy-addr's names loopback, linklocal, uniquelocal). Checked by proxy-addr itself,
 * the library Express reads `req.ip` with, so what passes here is what Express will apply.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): number | string[] => {
    const refuse = (why: string) => {
      ctx.addIssue({
        code: "custom",
        message: `must be a hop count (0-99) or comma-separated addresses, CIDRs and the names loopback, linklocal, uniquelocal (${why})`,
      });
      return z.NEVER;
    };
    // Digits alone are a count: proxy-addr would read "100" as the address 0.0.0.100.
    if (/^\d+$/.test(value)) return Number(value) <= 99 ? Number(value) : refuse(`${value} hops`);
    const list = commaList(value);
    if (list.length === 0) return refuse("none given");
    try {
      proxyaddr.compile(list);
      return list;
    } catch (err) {
      return refuse((err as Error).message);
    }
  });

/** Gmail's form of a Pub/Sub topic name (users.watch refuses others). */
const PUSH_TOPIC = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

/** Google's OIDC signing keys (JWK set): what Pub/Sub push tokens are signed with. */
const GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs";

/** A host name, IPv4 address or bracketed IPv6 address, then a port. */
const CLUSTER_NODE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

/** What a cluster client needs to reach its seed nodes. */
export interface RedisClusterSettings {
  nodes: Array<{ host: string; port: number }>;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

/** Sync queue shards on a cluster unless SYNC_QUEUE_SHARDS says otherwise (README "Redis Cluster"). */
export const CLUSTER_DEFAULT_SHARDS = 8;

/**
 * A quota rate below the dearest call's cost could never pay for that call: every sync would wait
 * for ever. Zero still means "no limit".
 */
const quotaRate = (max: number) =>
  z.coerce
    .number()
    .min(0)
    .max(max)
    .refine((v) => v === 0 || v >= MAX_CALL_COST, {
      message: `must be 0 (no limit) or at least ${MAX_CALL_COST}, the cost of one messages.get`,
    });

/** At most `points` in any `duration` seconds; one variable holds both, as "points/seconds". */
export interface RateLimit {
  points: number;
  duration: number;
}

const rateLimit = (fallback: `${number}/${number}`) => {
  const [points, duration] = fallback.split("/").map(Number) as [number, number];
  return z
    .string()
    .regex(/^\d{1,9}\/\d{1,7}$/, 'must be "points/seconds", for example 20/60')
    .transform((v): RateLimit => {
      const [p, d] = v.split("/").map(Number) as [number, number];
      return { points: p, duration: d };
    })
    .refine((r) => r.points >= 1 && r.duration >= 1, "needs at least 1 point and 1 second")
    .default({ points, duration });
};

/** A quota limit's default for the reference: the default profile's, and `legacy`'s where it differs. */
function profileDefault(limit: keyof (typeof QUOTA_PROFILES)["2026"]): string {
  const [current, legacy] = [QUOTA_PROFILES["2026"][limit], QUOTA_PROFILES.legacy[limit]];
  const units = (n: number) => n.toLocaleString("en-US");
  return current === legacy
    ? `the profile's: ${units(current)}`
    : `the profile's: ${units(current)} (\`legacy\`: ${units(legacy)})`;
}

/**
 * Every variable's operator-facing description lives in its `.meta()`: `npm run docs:config`
 * renders them into docs/configuration.md. `unset` says what holds when the variable is unset
 * where the schema's own default cannot (it depends on the process's role or on other variables).
 */
export const envSchema = z.object({
  NODE_ENV: z
    .enum(["development", "production", "test"])
    .default("development")
    .meta({
      description:
        "`production` turns on the refusals of unsafe settings and stops web and worker from migrating " +
        "the database at start (run `npm run migrate` first). Unset means `development`, but unset beside an " +
        "https `PUBLIC_URL` or a Google OAuth client of its own stops start-up: name the mode " +
        "(docs/hardening.md#node_env-must-be-named-where-a-deployments-settings-are).",
    }),
  PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(3000)
    .meta({ description: "TCP port the web node listens on (0 = any free port)." }),
  HOST: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        "Address the web node and a worker's metrics port listen on. Outside production the default is " +
        "loopback, so a laptop on a shared network serves no one else; in production it is every " +
        "interface, so a container's port is reachable from its network. The compose demo sets `0.0.0.0`.",
      unset: "`127.0.0.1`; `0.0.0.0` in production",
    }),
  TRUST_PROXY: trustProxy.default(["loopback", "uniquelocal"]).meta({
    description:
      "Which hops in front of a web node may say who the client is (`X-Forwarded-For`, and " +
      "`X-Forwarded-Proto` for the nearest): a hop count (0-99), or comma-separated addresses, CIDRs and " +
      "the names `loopback`, `linklocal`, `uniquelocal`. The default trusts any hop on this host or a " +
      "private network, whatever their number, and never a peer on a public address; rate limits per IP " +
      "count the address this yields (docs/proxies.md).",
  }),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional()
    .meta({
      description:
        "PostgreSQL connection URL (`postgres://…`). Required by web, worker and migrate, and in " +
        "production; `npm start` without it runs an embedded PostgreSQL under `DATA_DIR`.",
      unset: "— (`npm start`: embedded)",
    }),
  DATABASE_POOL_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .meta({
      description:
        "Connections this process's database pool may open (1-1000). Every process holds its own pool: " +
        "the sum over all processes must fit PostgreSQL's `max_connections` or PgBouncer's " +
        "`max_client_conn` (docs/database.md#connections).",
      unset: "web 20; worker `WORKER_CONCURRENCY` + 2, at most 30",
    }),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:6379")
    .meta({
      description:
        "The single Redis (`redis://` or `rediss://` for TLS) behind BullMQ's queue, the Socket.IO adapter, " +
        "rate limits and worker heartbeats. Not used when `REDIS_CLUSTER_NODES` is set.",
    }),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and _ . : - only")
    .default("inbox-sync")
    .meta({
      description:
        "Prefix of every Redis key and Socket.IO channel (letters, digits and `_ . : -`). Deployments " +
        "that share one Redis need different prefixes; `npm start` derives one from `DATA_DIR`.",
    }),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform(commaList)
    .refine((nodes) => nodes.length > 0, "needs at least one host:port")
    .refine(
      (nodes) => nodes.every((n) => CLUSTER_NODE.test(n) && Number(n.slice(n.lastIndexOf(":") + 1)) <= 65535),
      "must be comma-separated host:port pairs, for example redis-0:6379,redis-1:6379",
    )
    .optional()
    .meta({
      description:
        "Redis Cluster seed nodes as `host:port,host:port,…` (host names, IPv4 or `[IPv6]`). Set, every " +
        "Redis client is a cluster client and `REDIS_URL` is not used; one reachable node is enough, the " +
        "client learns the rest. Credentials and TLS come from `REDIS_CLUSTER_*` (docs/scaling.md#redis-cluster).",
      unset: "— (the single Redis at `REDIS_URL`)",
    }),
  REDIS_CLUSTER_USERNAME: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "ACL user for every cluster node (Redis 6+ ACLs, ElastiCache RBAC)." }),
  REDIS_CLUSTER_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "`AUTH` password for every cluster node." }),
  REDIS_CLUSTER_TLS: z
    .enum(["0", "1"], "must be 1 (TLS) or 0")
    .default("0")
    .meta({
      description:
        "`1` = TLS to every cluster node (managed services usually require it); nodes are then reached " +
        "by the names given, so certificate checks match.",
    }),
  SYNC_QUEUE_SHARDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .meta({
      description:
        "How many BullMQ queues the sync queue is split into (1-256), by a stable hash of the user id. " +
        "Every web node and worker must get the same value; drain the queue before lowering it.",
      unset: `1 on a single Redis; ${CLUSTER_DEFAULT_SHARDS} on a cluster`,
    }),
  WORKER_QUEUE_SHARDS: z
    .string()
    .regex(/^\s*\d{1,3}\s*(,\s*\d{1,3}\s*)*$/, "must be comma-separated shard numbers, for example 0,2")
    .transform((v) => [...new Set(v.split(",").map((n) => Number(n.trim())))].sort((a, b) => a - b))
    .optional()
    .meta({
      description:
        "The shards this worker serves, as `0,2,5`. A shard number not below `SYNC_QUEUE_SHARDS` stops " +
        "the worker at start.",
      unset: "— (all shards)",
    }),
  PUBLIC_URL: optionalUrl.meta({
    description:
      "The address users open, without a trailing path; the OAuth redirect URI is " +
      "`PUBLIC_URL/auth/google/callback`. Required and https in production. Over https the session " +
      "cookie is `__Host-isid` and Secure.",
    unset: "`http://localhost:$PORT`",
  }),
  GOOGLE_CLIENT_ID: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        "The Google OAuth client id; set together with `GOOGLE_CLIENT_SECRET`. Required in production, " +
        "and not the development client's. Set without `NODE_ENV`, it stops start-up.",
      unset: `\`${DEV_CLIENT.id}\` (the development client, which the simulator accepts)`,
    }),
  GOOGLE_CLIENT_SECRET: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        "The Google OAuth client secret; set together with `GOOGLE_CLIENT_ID`. Required in production, " +
        "and not the development client's.",
      unset: "the development client's",
    }),
  GMAIL_SIM_URL: optionalUrl.meta({
    description:
      "Base URL of a Google-compatible server: the Gmail API root, the OAuth authorization, token, " +
      "revocation and certificate URLs, the ID-token issuer and the push keys all default to it. " +
      "`npm start` starts the simulator and sets it when no Google client is configured. Refused in " +
      "production unless `INBOX_SYNC_DEMO=1`.",
  }),
  GMAIL_API_ROOT: optionalUrl.meta({
    description: "The Gmail API root on its own; wins over `GMAIL_SIM_URL`. https in production.",
    unset: `\`${GOOGLE_DEFAULTS.apiRoot}\` (\`GMAIL_SIM_URL/\`)`,
  }),
  GOOGLE_AUTH_URL: optionalUrl.meta({
    description: "Google's OAuth authorization endpoint; wins over `GMAIL_SIM_URL`. https in production.",
    unset: `\`${GOOGLE_DEFAULTS.authUrl}\` (\`GMAIL_SIM_URL/o/oauth2/v2/auth\`)`,
  }),
  GOOGLE_TOKEN_URL: optionalUrl.meta({
    description: "Google's OAuth token endpoint; wins over `GMAIL_SIM_URL`. https in production.",
    unset: `\`${GOOGLE_DEFAULTS.tokenUrl}\` (\`GMAIL_SIM_URL/token\`)`,
  }),
  GOOGLE_REVOKE_URL: optionalUrl.meta({
    description:
      "Google's token revocation endpoint, called when a user disconnects Gmail or deletes their account; wins " +
      "over `GMAIL_SIM_URL`. https in production.",
    unset: `\`${GOOGLE_DEFAULTS.revokeUrl}\` (\`GMAIL_SIM_URL/revoke\`)`,
  }),
  GOOGLE_CERTS_URL: optionalUrl.meta({
    description:
      "Google's ID-token signing certificates (PEM, keyed by key id), checked at every sign-in; wins " +
      "over `GMAIL_SIM_URL`. https in production.",
    unset: `\`${GOOGLE_DEFAULTS.certsUrl}\` (\`GMAIL_SIM_URL/oauth2/v1/certs\`)`,
  }),
  GOOGLE_ISSUER: z
    .string()
    .trim()
    .min(1)
    .optional()
    .meta({
      description: "The one `iss` a sign-in's ID token may carry.",
      unset: `${GOOGLE_DEFAULTS.issuers.map((i) => `\`${i}\``).join(" or ")} (\`GMAIL_SIM_URL\`)`,
    }),
  SESSION_SECRET: z
    .string()
    .min(32, "at least 32 characters")
    .optional()
    .meta({
      description:
        "Signs session cookies; at least 32 characters. Required and strong in production, and the same " +
        "on every web and worker process (generate one with `openssl rand -hex 32`).",
      unset: "generated once into `DATA_DIR/session-secret` (refused in production)",
    }),
  TOKEN_ENCRYPTION_KEY: z
    .string()
    .regex(KEY_FORMAT, "32 bytes as 64 hex digits or base64")
    .optional()
    .meta({
      description:
        "AES-256-GCM key that seals stored OAuth tokens: 32 bytes as 64 hex digits or base64. Required " +
        "and strong in production, and the same on every web and worker process (docs/security.md#token-encryption).",
      unset: "generated once into `DATA_DIR/token-encryption-key` (refused in production)",
    }),
  TOKEN_ENCRYPTION_KEYS_OLD: z
    .string()
    .default("")
    .transform(commaList)
    .refine(
      (keys) => keys.every((k) => KEY_FORMAT.test(k)),
      "comma-separated keys, each 32 bytes as 64 hex digits or base64",
    )
    .meta({
      description:
        "Comma-separated keys being rotated out: they still open stored tokens, which are sealed again " +
        "with `TOKEN_ENCRYPTION_KEY` (docs/operations.md#rotating-the-token-key).",
    }),
  WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(10)
    .meta({ description: "Sync jobs one worker process runs at once (1-500)." }),
  GMAIL_USER_UNITS_PER_SECOND: quotaRate(1_000_000)
    .optional()
    .meta({
      description:
        "Older form of `GMAIL_USER_UNITS_PER_MINUTE`, in units per second (× 60); set only one of the " +
        "two. 0 = no limit; otherwise at least the cost of one `messages.get`. `npm start` with the " +
        "simulator sets 1000.",
      unset: "— (the profile's limit)",
    }),
  GMAIL_PROJECT_UNITS_PER_SECOND: quotaRate(10_000_000)
    .optional()
    .meta({
      description:
        "Older form of `GMAIL_PROJECT_UNITS_PER_MINUTE`, in units per second (× 60); set only one of the " +
        "two. 0 = no limit; otherwise at least the cost of one `messages.get`.",
      unset: "— (the profile's limit)",
    }),
  GMAIL_QUOTA_PROFILE: z
    .string()
    .optional()
    .meta({
      description:
        "The Google Cloud project's Gmail quota profile: `2026` for projects made from 1 May 2026 on, " +
        "`legacy` for older ones. `GMAIL_USER_UNITS_PER_MINUTE`, `GMAIL_PROJECT_UNITS_PER_MINUTE` and " +
        "`GMAIL_PROJECT_UNITS_PER_DAY` override its limits one by one (docs/quota.md).",
      unset: "`2026`",
    }),
  GMAIL_USER_UNITS_PER_MINUTE: z
    .string()
    .optional()
    .meta({
      description:
        "Gmail quota units one user's calls may spend in any minute, all workers together; 0 = no limit, " +
        "otherwise at least the dearest call's cost.",
      unset: profileDefault("userUnitsPerMinute"),
    }),
  GMAIL_PROJECT_UNITS_PER_MINUTE: z
    .string()
    .optional()
    .meta({
      description:
        "Gmail quota units the whole project may spend in any minute, all processes together; 0 = no " +
        "limit, otherwise at least the dearest call's cost. Set it to a raise Google granted.",
      unset: profileDefault("projectUnitsPerMinute"),
    }),
  GMAIL_PROJECT_UNITS_PER_DAY: z
    .string()
    .optional()
    .meta({
      description:
        "Gmail quota units the whole project may spend in one day (Google resets it at midnight Pacific " +
        "Time); 0 = no limit, otherwise at least the dearest call's cost.",
      unset: profileDefault("projectUnitsPerDay"),
    }),
  GMAIL_METHOD_COSTS: z
    .string()
    .optional()
    .meta({
      description:
        "Overrides of Google's per-method costs in quota units, as `method:units,…`, for example " +
        "`messages.get:20,threads.get:40`; each cost at least 1.",
      unset: "Google's published costs",
    }),
  GMAIL_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .meta({
      description:
        "Whole-message gets per request to Gmail's batch endpoint (`<GMAIL_API_ROOT>batch/gmail/v1`) in " +
        "syncs, 1-100; 1 = one `messages.get` per request (batching off). Google allows 100 and advises at " +
        "most 50. Quota and retries stay per message (docs/sync.md#gmails-batch-endpoint).",
    }),
  INBOX_SYNC_DEMO: z
    .enum(["0", "1"], "must be 1 (demo) or 0")
    .default("0")
    .meta({
      description:
        "`1` = the demo switch: a production process may run against the Gmail simulator (or any " +
        "plain-http Google stand-in) with the development OAuth client, and web and worker log " +
        "`demo switch on` at start. Never set it where real people sign in.",
    }),
  METRICS_TOKEN: z
    .string()
    .min(32, "at least 32 characters")
    .optional()
    .meta({
      description:
        "Bearer token that `/metrics` asks for, on the web port and a worker's `WORKER_METRICS_PORT`; at " +
        "least 32 characters, strong in production. Metrics name users' queue depth and request volumes: " +
        "not for the public (docs/hardening.md#metrics-one-token-one-rule).",
      unset: "— (`/metrics` is not served: 404)",
    }),
  ADMIN_EMAILS: z.string().default("").meta({
    description:
      "Comma-separated e-mail addresses allowed to open `/admin/queues`; ignored while `ADMIN_SUBS` is set.",
  }),
  ADMIN_SUBS: z
    .string()
    .regex(/^[\w\s,.-]*$/, "must be comma-separated Google account ids (the ID token's sub)")
    .default("")
    .meta({
      description:
        "Comma-separated Google account ids (the ID token's `sub`) allowed to open `/admin/queues`. Set, " +
        "it alone decides and `ADMIN_EMAILS` is ignored: an address can pass to someone else, a `sub` " +
        "cannot. A refused user's 403 names their own id.",
    }),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .meta({ description: "pino log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`." }),
  DATA_DIR: z.string().default(".data").meta({
    description:
      "Folder of the generated development secrets and, under `npm start`, the embedded PostgreSQL.",
  }),
  TASK_LEASE_SECONDS: z.coerce
    .number()
    .int()
    .min(3)
    .max(600)
    .default(10)
    .meta({
      description:
        "Seconds a task's owner (a worker's job or a web node's stream) may go without renewing its lease " +
        "before another runner may take the task over (3-600); the owner renews every third of it " +
        "(docs/sync.md#the-lease).",
    }),
  WORKER_LOCK_SECONDS: z.coerce
    .number()
    .int()
    .min(2)
    .max(3600)
    .optional()
    .meta({
      description:
        "Seconds a worker's BullMQ job lock lasts without renewal (2-3600): how soon BullMQ hands a dead " +
        "worker's job to another worker.",
      unset: "`TASK_LEASE_SECONDS`, so both lapse together",
    }),
  SYNC_SLICE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(300)
    .meta({
      description:
        "Longest stretch, in seconds, one sync holds a worker slot while other syncs wait: then it hands " +
        "its task back to the queue, behind them, and resumes later where it stopped. 0 = never.",
    }),
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .meta({
      description:
        "Port of a worker's own Prometheus `/metrics` (0 = any free port), on `HOST`. It answers " +
        "`METRICS_TOKEN`'s bearer alone, and nothing without `METRICS_TOKEN`, as the web's `/metrics` does.",
      unset: "— (no port)",
    }),
  WORKER_NICE: z.coerce
    .number()
    .int()
    .min(0)
    .max(19)
    .default(5)
    .meta({
      description:
        "The niceness (0-19) a worker process gives itself at start: where a worker shares CPUs with a web " +
        "node, clicks are served before syncs, and idle CPU still goes to the worker. 0 = the same " +
        "priority as everything else. Higher than 5 slowed many syncs at once by 40% beside busy web " +
        "nodes (docs/operations.md#cpu-priority).",
    }),
  WORKER_HEARTBEAT_TTL: z.coerce
    .number()
    .int()
    .min(2)
    .max(600)
    .default(10)
    .meta({
      description:
        "Seconds after which a worker that stopped beating counts as gone (2-600); while none is alive, " +
        "queued syncs report `no_workers`.",
    }),
  SESSION_IDLE_HOURS: z.coerce
    .number()
    .positive()
    .max(720)
    .default(72)
    .meta({
      description:
        "Hours a browser session may go unused before it ends, besides its 30-day lifetime (fractions " +
        "allowed, at most 720).",
    }),
  SOCKET_RECHECK_SECONDS: z.coerce
    .number()
    .positive()
    .max(3600)
    .default(30)
    .meta({
      description:
        "How often, in seconds, each web node checks that its sockets' sessions and API tokens are still " +
        "valid, and drops those whose session or token has ended.",
    }),
  // Abuse limits as "points/seconds"; server/middleware/rateLimit.ts says what each one counts.
  RATE_LIMIT_SIGN_IN: rateLimit("30/60").meta({
    description:
      "Per IP, as `points/seconds`: `GET /auth/google` and its callback (docs/security.md#rate-limits).",
  }),
  RATE_LIMIT_BAD_TOKEN: rateLimit("10/60").meta({
    description:
      "Per IP, as `points/seconds`: bearer tokens that match no live token. Only failures spend points; " +
      "an IP that has spent them is refused before its token is read.",
  }),
  RATE_LIMIT_SYNC: rateLimit("20/60").meta({
    description:
      "Per user, as `points/seconds`: `POST /api/emails/sync` and `POST /api/emails/sync/stream` together.",
  }),
  RATE_LIMIT_TOKEN_CREATE: rateLimit("10/3600").meta({
    description: "Per user, as `points/seconds`: `POST /api/tokens`.",
  }),
  RATE_LIMIT_SOCKET_CONNECT: rateLimit("30/60").meta({
    description: "Per user, as `points/seconds`: Socket.IO connections.",
  }),
  RATE_LIMIT_SUBSCRIBE: rateLimit("60/60").meta({
    description: "Per socket, as `points/seconds`: `task:subscribe` messages.",
  }),
  RATE_LIMIT_STREAMS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(2)
    .meta({ description: "Streaming syncs one user may hold open at once, across every web node (1-1000)." }),
  RATE_LIMIT_FEED_FOLLOWERS: z.coerce.number().int().min(1).max(1000).default(10).meta({
    description:
      "Change-feed requests one user may hold open at once (long-polls with wait, event streams), across every web node (1-1000).",
  }),
  RATE_LIMIT_GMAIL_PUSH: rateLimit("1200/60").meta({
    description:
      "Per IP, as `points/seconds`: `POST /webhooks/gmail`. Pub/Sub delivers from few addresses, so the " +
      "default is high.",
  }),
  GMAIL_PUSH_TOPIC: z
    .string()
    .regex(PUSH_TOPIC, "must be projects/<project>/topics/<topic>")
    .optional()
    .meta({
      description:
        "The Cloud Pub/Sub topic Gmail publishes mailbox changes to, `projects/<project>/topics/<topic>`. " +
        "Set = push is on: every connected account is watched and `POST /webhooks/gmail` syncs it; unset = " +
        "the schedule (`SYNC_SCHEDULE_INTERVAL_SECONDS`) keeps mail current instead (docs/push.md). In " +
        "production it requires `GMAIL_PUSH_SERVICE_ACCOUNT`.",
      unset: "— (push off)",
    }),
  GMAIL_PUSH_AUDIENCE: z
    .string()
    .trim()
    .min(1)
    .optional()
    .meta({
      description:
        "The `aud` a push's OIDC token must carry: the push subscription's audience (Pub/Sub's own " +
        "default is the endpoint URL, which is this default).",
      unset: "`PUBLIC_URL/webhooks/gmail`",
    }),
  GMAIL_PUSH_SERVICE_ACCOUNT: z
    .email("must be a service account's e-mail address")
    .optional()
    .meta({
      description:
        "The `email` a push's token must carry (with `email_verified`): the service account the push " +
        "subscription authenticates as. Required in production while `GMAIL_PUSH_TOPIC` is set, even " +
        "with the demo switch: any Google account can mint a Google-signed token for any audience.",
      unset: "— (any sender; refused in production while push is on)",
    }),
  GMAIL_PUSH_JWKS_URL: optionalUrl.meta({
    description:
      "Google's OIDC signing keys as a JWK set, which push tokens are checked against. https in " +
      "production unless `INBOX_SYNC_DEMO=1`.",
    unset: `\`${GOOGLE_JWKS_URL}\` (\`GMAIL_SIM_URL/oauth2/v3/certs\`)`,
  }),
  GMAIL_PUSH_LABEL_IDS: z.string().default("").transform(commaList).meta({
    description:
      "Comma-separated label ids a watch is limited to (`users.watch`'s `labelIds`), for example `INBOX`.",
    unset: "— (every change of the mailbox)",
  }),
  GMAIL_PUSH_LABEL_FILTER: z
    .enum(["include", "exclude"], "must be include or exclude")
    .default("include")
    .meta({
      description:
        "With `GMAIL_PUSH_LABEL_IDS`: `include` = push for changes to mail with one of those labels, " +
        "`exclude` = only for mail with none of them (`labelFilterBehavior`).",
    }),
  SYNC_DEBOUNCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(2_000)
    .meta({
      description:
        "Milliseconds (0-600000): a user's pushes less than this apart make one sync, started this long " +
        "after the last of them and at most 5 times this long after the first (docs/push.md#debounce-one-sync-per-burst-never-a-lost-change).",
    }),
  SYNC_SCHEDULE_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(604_800)
    .default(900)
    .meta({
      description:
        "With push off: how often, in seconds, recently active accounts get an incremental sync; 0 = " +
        "never. Not run while push is on.",
    }),
  SYNC_SCHEDULE_ACTIVE_DAYS: z.coerce.number().positive().max(365).default(14).meta({
    description:
      '"Recently active" for the schedule: the user used a session or an API token within this many days.',
  }),
  COMPLETENESS_CHECK_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .max(365)
    .default(7)
    .meta({
      description:
        "Days between completeness checks of each connected account (every id Gmail lists compared with what is " +
        "stored, both ways repaired; about 1 quota unit per 100 messages; docs/health.md); 0 = only when asked for.",
    }),
  CHANGE_FEED_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(7).meta({
    description:
      "How long the change feed (GET /api/changes) keeps a change. The maintenance job removes older ones; a follower whose cursor is older gets 410 cursor_expired and re-reads the mirror.",
  }),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  port: number;
  host: string;
  /** TRUST_PROXY: a hop count, or the addresses of trusted hops; server/clientAddress.ts applies it. */
  trustProxy: number | string[];
  databaseUrl: string | undefined;
  /** DATABASE_POOL_MAX: this process's pool size; undefined = its role's default. */
  databasePoolMax: number | undefined;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES and its REDIS_CLUSTER_* settings; null = the single Redis at redisUrl. */
  redisCluster: RedisClusterSettings | null;
  queuePrefix: string;
  /** See SYNC_QUEUE_SHARDS. */
  syncQueueShards: number;
  /** WORKER_QUEUE_SHARDS: the shards a worker serves; null = all. */
  workerQueueShards: number[] | null;
  publicUrl: string;
  google: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    apiRoot: string;
    authUrl: string;
    tokenUrl: string;
    revokeUrl: string;
    /** See GOOGLE_CERTS_URL. */
    certsUrl: string;
    /** The `iss` values an ID token may carry. */
    issuers: string[];
  };
  /** INBOX_SYNC_DEMO=1: production may use the simulator and plain http; every start says so. */
  demo: boolean;
  /** Bearer token for /metrics (web and worker); undefined = /metrics is not served. */
  metricsToken: string | undefined;
  sessionSecret: string;
  tokenEncryptionKey: Buffer;
  /** TOKEN_ENCRYPTION_KEYS_OLD: keys that still open stored tokens during a rotation. */
  tokenEncryptionKeysOld: Buffer[];
  workerConcurrency: number;
  workerLockSeconds: number;
  /** See TASK_LEASE_SECONDS. */
  taskLeaseSeconds: number;
  syncSliceSeconds: number;
  workerMetricsPort: number | undefined;
  /** The quota table's per-minute limits as per-second rates (what the quota gate meters). */
  gmailQuota: { userUnitsPerSecond: number; projectUnitsPerSecond: number };
  /** Gmail's limits and per-method costs, resolved from GMAIL_QUOTA_PROFILE and its overrides. */
  gmailQuotaTable: GmailQuotaTable;
  /** See GMAIL_BATCH_SIZE. */
  gmailBatchSize: number;
  workerHeartbeatTtlSeconds: number;
  /** WORKER_NICE: the niceness a worker process gives itself at start. */
  workerNice: number;
  sessionIdleHours: number;
  socketRecheckSeconds: number;
  /** See server/middleware/rateLimit.ts; per IP, per user or per socket as each names. */
  rateLimits: {
    signIn: RateLimit;
    badToken: RateLimit;
    sync: RateLimit;
    tokenCreate: RateLimit;
    socketConnect: RateLimit;
    subscribe: RateLimit;
    streams: number;
    /** Per user: change-feed long-polls and event streams held open at once. */
    feedFollowers: number;
    /** Per IP: POST /webhooks/gmail. */
    gmailPush: RateLimit;
  };
  /** Gmail push through Cloud Pub/Sub; `topic` null = push is off. */
  gmailPush: GmailPushSettings;
  /** Keeping mail current without a click: the debounce of pushes and the schedule (push off). */
  liveSync: {
    debounceMs: number;
    /** 0 = no schedule; never run while push is on. */
    scheduleIntervalSeconds: number;
    activeDays: number;
    /** COMPLETENESS_CHECK_DAYS: days between an account's completeness checks; 0 = only when asked. */
    checkEveryDays: number;
  };
  /** The change feed (docs/changes.md). */
  changeFeed: {
    /** CHANGE_FEED_RETENTION_DAYS: changes older than this are pruned. */
    retentionDays: number;
  };
  adminEmails: string[];
  adminSubs: string[];
  logLevel: Env["LOG_LEVEL"];
  /** Colourful single-line logs for a person at a terminal (development only). */
  prettyLogs: boolean;
  dataDir: string;
}

/** See GMAIL_PUSH_* in the schema. */
export interface GmailPushSettings {
  topic: string | null;
  audience: string;
  /** The `email` claim required of a push token; null = any (refused in production). */
  serviceAccount: string | null;
  jwksUrl: string;
  /** The `iss` values a push token may carry: Google writes either form. */
  issuers: string[];
  labelIds: string[];
  labelFilterBehavior: "include" | "exclude";
}

/** What web and worker log at start while INBOX_SYNC_DEMO=1, so no operator misses it. */
export const DEMO_SWITCH_LINE =
  "demo switch on (INBOX_SYNC_DEMO=1): the Gmail simulator, plain-http Google endpoints and the dev OAuth client are allowed; never let real users in";

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

/**
 * The bits a secret must at least measure. Generated secrets measure far more: 32 random hex
 * digits (the shortest allowed) never fell below 94 in 20,000 draws; 32 random bytes never below 142.
 */
const MIN_TEXT_SECRET_BITS = 80;
const MIN_KEY_BITS = 128;
const GENERATE = "generate one with `openssl rand -hex 32`";

/** Production secrets must be ones nobody can guess: one line names the first weak one. */
function requireStrongSecrets(e: Env): void {
  const texts = [
    ["SESSION_SECRET", e.SESSION_SECRET],
    ["METRICS_TOKEN", e.METRICS_TOKEN],
  ] as const;
  for (const [name, value] of texts) {
    const weakness = value === undefined ? undefined : textSecretWeakness(value, MIN_TEXT_SECRET_BITS);
    if (weakness) throw new ConfigError(name, `is too weak for production: it ${weakness}; ${GENERATE}`);
  }
  const keyWeak = keyWeakness(parseKey(e.TOKEN_ENCRYPTION_KEY!), MIN_KEY_BITS);
  if (keyWeak) {
    throw new ConfigError("TOKEN_ENCRYPTION_KEY", `is too weak for production: it ${keyWeak}; ${GENERATE}`);
  }
}

/**
 * Production talks to the real Google over TLS with a real OAuth client: the simulator's consent
 * page signs anyone in as any account, and plain http exposes codes and tokens on the wire.
 * INBOX_SYNC_DEMO=1 is the one way round this.
 */
function refuseDemo(e: Env, google: Config["google"], publicUrl: string): void {
  const hint = "when NODE_ENV=production (INBOX_SYNC_DEMO=1 allows it for a demo)";
  if (e.GMAIL_SIM_URL) throw new ConfigError("GMAIL_SIM_URL", `must not be set ${hint}`);
  if (!e.GOOGLE_CLIENT_ID) throw new ConfigError("GOOGLE_CLIENT_ID", `is required ${hint}`);
  if (e.GOOGLE_CLIENT_ID === DEV_CLIENT.id) {
    throw new ConfigError("GOOGLE_CLIENT_ID", `must be a real Google OAuth client id ${hint}`);
  }
  if (e.GOOGLE_CLIENT_SECRET === DEV_CLIENT.secret) {
    throw new ConfigError("GOOGLE_CLIENT_SECRET", `must be a real Google OAuth client secret ${hint}`);
  }
  const endpoints = [
    ["GMAIL_API_ROOT", google.apiRoot],
    ["GOOGLE_AUTH_URL", google.authUrl],
    ["GOOGLE_TOKEN_URL", google.tokenUrl],
    ["GOOGLE_REVOKE_URL", google.revokeUrl],
    ["GOOGLE_CERTS_URL", google.certsUrl],
    ["PUBLIC_URL", publicUrl],
  ] as const;
  for (const [name, url] of endpoints) {
    if (new URL(url).protocol !== "https:") throw new ConfigError(name, `must be an https:// URL ${hint}`);
  }
}

/**
 * Production push must prove who sent it. Any Google account can mint a Google-signed token for
 * any audience, so the signature and audience alone would let a stranger trigger syncs: the
 * subscription's service account must be named. The keys come over TLS (the demo switch allows
 * a plain-http simulator).
 */
function refuseUnsafePush(push: GmailPushSettings, demo: boolean): void {
  if (!push.serviceAccount) {
    throw new ConfigError(
      "GMAIL_PUSH_SERVICE_ACCOUNT",
      "is required when GMAIL_PUSH_TOPIC is set and NODE_ENV=production: name the push subscription's service account",
    );
  }
  if (!demo && new URL(push.jwksUrl).protocol !== "https:") {
    throw new ConfigError(
      "GMAIL_PUSH_JWKS_URL",
      "must be an https:// URL when NODE_ENV=production (INBOX_SYNC_DEMO=1 allows it for a demo)",
    );
  }
}

/**
 * Every production refusal above hangs on NODE_ENV=production, so a systemd unit or a pod spec
 * that forgot it would run a public deployment with none of them. Settings only a deployment has
 * (an https PUBLIC_URL, a Google OAuth client of its own) without NODE_ENV stop start-up instead:
 * the operator says which mode is meant. `npm start`, tests and the compose demo set neither or
 * name their mode.
 */
function refuseUnsetNodeEnv(e: Env): void {
  const sign =
    e.PUBLIC_URL && new URL(e.PUBLIC_URL).protocol === "https:"
      ? "PUBLIC_URL is an https:// URL"
      : e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_ID !== DEV_CLIENT.id
        ? "GOOGLE_CLIENT_ID names a real Google OAuth client"
        : undefined;
  if (sign) {
    throw new ConfigError(
      "NODE_ENV",
      `is unset but ${sign}: set NODE_ENV=production for a deployment (or NODE_ENV=development to run it locally)`,
    );
  }
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function parseKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
}

/** Dev secrets are generated once and kept under DATA_DIR so sessions and tokens survive restarts. */
function devSecret(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function gmailQuotaTableOf(e: z.infer<typeof envSchema>): GmailQuotaTable {
  try {
    return resolveQuotaTable(e);
  } catch (err) {
    if (err instanceof QuotaSettingError) throw new ConfigError(err.variable, err.message);
    throw err;
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable counts as unset: compose files and .env templates write `VAR=` for "none".
  const given = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? "environment"), issue.message);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";

  const demo = e.INBOX_SYNC_DEMO === "1";
  const quotaTable = gmailQuotaTableOf(e);

  if (production) {
    for (const name of ["DATABASE_URL", "SESSION_SECRET", "TOKEN_ENCRYPTION_KEY", "PUBLIC_URL"] as const) {
      if (!e[name]) throw new ConfigError(name, "is required when NODE_ENV=production");
    }
    requireStrongSecrets(e);
  }
  const realGoogle = Boolean(e.GOOGLE_CLIENT_ID || e.GOOGLE_CLIENT_SECRET);
  if (realGoogle && !(e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET)) {
    throw new ConfigError(
      e.GOOGLE_CLIENT_ID ? "GOOGLE_CLIENT_SECRET" : "GOOGLE_CLIENT_ID",
      "must be set together with its pair",
    );
  }
  if (given.NODE_ENV === undefined) refuseUnsetNodeEnv(e);

  const sim = e.GMAIL_SIM_URL ? e.GMAIL_SIM_URL.replace(/\/+$/, "") : undefined;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");
  const google = {
    clientId: e.GOOGLE_CLIENT_ID ?? DEV_CLIENT.id,
    clientSecret: e.GOOGLE_CLIENT_SECRET ?? DEV_CLIENT.secret,
    redirectUri: `${publicUrl}/auth/google/callback`,
    apiRoot: withSlash(e.GMAIL_API_ROOT ?? (sim ? `${sim}/` : GOOGLE_DEFAULTS.apiRoot)),
    authUrl: e.GOOGLE_AUTH_URL ?? (sim ? `${sim}/o/oauth2/v2/auth` : GOOGLE_DEFAULTS.authUrl),
    tokenUrl: e.GOOGLE_TOKEN_URL ?? (sim ? `${sim}/token` : GOOGLE_DEFAULTS.tokenUrl),
    revokeUrl: e.GOOGLE_REVOKE_URL ?? (sim ? `${sim}/revoke` : GOOGLE_DEFAULTS.revokeUrl),
    certsUrl: e.GOOGLE_CERTS_URL ?? (sim ? `${sim}/oauth2/v1/certs` : GOOGLE_DEFAULTS.certsUrl),
    issuers: e.GOOGLE_ISSUER ? [e.GOOGLE_ISSUER] : sim ? [sim] : [...GOOGLE_DEFAULTS.issuers],
  };
  if (production && !demo) refuseDemo(e, google, publicUrl);

  const gmailPush: GmailPushSettings = {
    topic: e.GMAIL_PUSH_TOPIC ?? null,
    audience: e.GMAIL_PUSH_AUDIENCE ?? `${publicUrl}/webhooks/gmail`,
    serviceAccount: e.GMAIL_PUSH_SERVICE_ACCOUNT?.toLowerCase() ?? null,
    jwksUrl: e.GMAIL_PUSH_JWKS_URL ?? (sim ? `${sim}/oauth2/v3/certs` : GOOGLE_JWKS_URL),
    issuers: [...GOOGLE_DEFAULTS.issuers],
    labelIds: e.GMAIL_PUSH_LABEL_IDS,
    labelFilterBehavior: e.GMAIL_PUSH_LABEL_FILTER,
  };
  if (production && gmailPush.topic) refuseUnsafePush(gmailPush, demo);

  const redisCluster: RedisClusterSettings | null = e.REDIS_CLUSTER_NODES
    ? {
        nodes: e.REDIS_CLUSTER_NODES.map((n) => {
          const at = n.lastIndexOf(":");
          return { host: n.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(n.slice(at + 1)) };
        }),
        username: e.REDIS_CLUSTER_USERNAME,
        password: e.REDIS_CLUSTER_PASSWORD,
        tls: e.REDIS_CLUSTER_TLS === "1",
      }
    : null;
  const syncQueueShards = e.SYNC_QUEUE_SHARDS ?? (redisCluster ? CLUSTER_DEFAULT_SHARDS : 1);
  const beyond = e.WORKER_QUEUE_SHARDS?.find((n) => n >= syncQueueShards);
  if (beyond !== undefined) {
    throw new ConfigError(
      "WORKER_QUEUE_SHARDS",
      `names shard ${beyond}, but shards are numbered 0 to ${syncQueueShards - 1} (SYNC_QUEUE_SHARDS=${syncQueueShards})`,
    );
  }

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST ?? (production ? "0.0.0.0" : "127.0.0.1"),
    trustProxy: e.TRUST_PROXY,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisCluster,
    queuePrefix: e.QUEUE_PREFIX,
    syncQueueShards,
    workerQueueShards: e.WORKER_QUEUE_SHARDS ?? null,
    publicUrl,
    google,
    demo,
    metricsToken: e.METRICS_TOKEN,
    sessionSecret:
      e.SESSION_SECRET ?? devSecret(e.DATA_DIR, "session-secret", () => randomBytes(32).toString("hex")),
    tokenEncryptionKey: parseKey(
      e.TOKEN_ENCRYPTION_KEY ??
        devSecret(e.DATA_DIR, "token-encryption-key", () => randomBytes(32).toString("hex")),
    ),
    tokenEncryptionKeysOld: e.TOKEN_ENCRYPTION_KEYS_OLD.map(parseKey),
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerLockSeconds: e.WORKER_LOCK_SECONDS ?? e.TASK_LEASE_SECONDS,
    taskLeaseSeconds: e.TASK_LEASE_SECONDS,
    syncSliceSeconds: e.SYNC_SLICE_SECONDS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    gmailQuota: {
      userUnitsPerSecond: quotaTable.userUnitsPerSecond,
      projectUnitsPerSecond: quotaTable.projectUnitsPerSecond,
    },
    gmailQuotaTable: quotaTable,
    gmailBatchSize: e.GMAIL_BATCH_SIZE,
    workerHeartbeatTtlSeconds: e.WORKER_HEARTBEAT_TTL,
    workerNice: e.WORKER_NICE,
    sessionIdleHours: e.SESSION_IDLE_HOURS,
    socketRecheckSeconds: e.SOCKET_RECHECK_SECONDS,
    rateLimits: {
      signIn: e.RATE_LIMIT_SIGN_IN,
      badToken: e.RATE_LIMIT_BAD_TOKEN,
      sync: e.RATE_LIMIT_SYNC,
      tokenCreate: e.RATE_LIMIT_TOKEN_CREATE,
      socketConnect: e.RATE_LIMIT_SOCKET_CONNECT,
      subscribe: e.RATE_LIMIT_SUBSCRIBE,
      streams: e.RATE_LIMIT_STREAMS,
      feedFollowers: e.RATE_LIMIT_FEED_FOLLOWERS,
      gmailPush: e.RATE_LIMIT_GMAIL_PUSH,
    },
    gmailPush,
    liveSync: {
      debounceMs: e.SYNC_DEBOUNCE_MS,
      scheduleIntervalSeconds: e.SYNC_SCHEDULE_INTERVAL_SECONDS,
      activeDays: e.SYNC_SCHEDULE_ACTIVE_DAYS,
      checkEveryDays: e.COMPLETENESS_CHECK_DAYS,
    },
    changeFeed: { retentionDays: e.CHANGE_FEED_RETENTION_DAYS },
    adminEmails: e.ADMIN_EMAILS.split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    adminSubs: e.ADMIN_SUBS.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    logLevel: e.LOG_LEVEL,
    prettyLogs: e.NODE_ENV === "development" && Boolean(process.stdout.isTTY) && prettyAvailable(),
    dataDir: e.DATA_DIR,
  };
}

function prettyAvailable(): boolean {
  try {
    import.meta.resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}

/** Database URL or a one-line failure: web, worker and migrate cannot run without it. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError("DATABASE_URL", "is required (npm start provides an embedded PostgreSQL)");
  }
  return config.databaseUrl;
}

/**
 * Runs a process entry point: configuration errors print one line and exit 1, never a stack.
 */
export async function runMain(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
