import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import proxyaddr from "proxy-addr";
import { z } from "zod";
import { type GmailQuotaTable, QuotaSettingError, resolveQuotaTable } from "./gmail/quotaProfile";
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

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Address web and a worker's metrics listen on; unset = 127.0.0.1 outside production (a laptop
   * on a café network serves no one else) and 0.0.0.0 in production (a container's port must be
   * reachable from its network). Docker's demo sets 0.0.0.0 itself.
   */
  HOST: z.string().min(1).optional(),
  /**
   * Which hops in front of a web node may say who the client is (X-Forwarded-For, and
   * X-Forwarded-Proto for the nearest). The default trusts any hop on this host or a private
   * network, whatever their number, and never a peer on a public address (docs/proxies.md).
   */
  TRUST_PROXY: trustProxy.default(["loopback", "uniquelocal"]),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  /**
   * Connections this process's pool may open; unset = web 20, worker WORKER_CONCURRENCY + 2 (at
   * most 30). Every process holds its own pool: the sum over processes is what PostgreSQL (or
   * PgBouncer's client side) must accept.
   */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:6379"),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and _ . : - only")
    .default("inbox-sync"),
  /**
   * Redis Cluster seed nodes as `host:port,host:port,…`; when set, every Redis client is a
   * cluster client and REDIS_URL is not used. Credentials and TLS come from REDIS_CLUSTER_*.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform(commaList)
    .refine((nodes) => nodes.length > 0, "needs at least one host:port")
    .refine(
      (nodes) => nodes.every((n) => CLUSTER_NODE.test(n) && Number(n.slice(n.lastIndexOf(":") + 1)) <= 65535),
      "must be comma-separated host:port pairs, for example redis-0:6379,redis-1:6379",
    )
    .optional(),
  REDIS_CLUSTER_USERNAME: z.string().min(1).optional(),
  REDIS_CLUSTER_PASSWORD: z.string().min(1).optional(),
  /** 1 = TLS to every cluster node (managed services usually require it). */
  REDIS_CLUSTER_TLS: z.enum(["0", "1"], "must be 1 (TLS) or 0").default("0"),
  /**
   * How many BullMQ queues the sync queue is split into, by a stable hash of the user id. Default
   * 1 on a single Redis (the queue as it always was) and 8 on a cluster.
   */
  SYNC_QUEUE_SHARDS: z.coerce.number().int().min(1).max(256).optional(),
  /** The shards this worker serves, as `0,2,5`; unset = all of them. */
  WORKER_QUEUE_SHARDS: z
    .string()
    .regex(/^\s*\d{1,3}\s*(,\s*\d{1,3}\s*)*$/, "must be comma-separated shard numbers, for example 0,2")
    .transform((v) => [...new Set(v.split(",").map((n) => Number(n.trim())))].sort((a, b) => a - b))
    .optional(),
  PUBLIC_URL: optionalUrl,
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GMAIL_SIM_URL: optionalUrl,
  GMAIL_API_ROOT: optionalUrl,
  GOOGLE_AUTH_URL: optionalUrl,
  GOOGLE_TOKEN_URL: optionalUrl,
  GOOGLE_REVOKE_URL: optionalUrl,
  /** Where the ID-token signing certificates are (PEM, keyed by kid); see GOOGLE_DEFAULTS. */
  GOOGLE_CERTS_URL: optionalUrl,
  /** The one `iss` accepted in ID tokens; default Google's two forms (or the simulator's URL). */
  GOOGLE_ISSUER: z.string().trim().min(1).optional(),
  SESSION_SECRET: z.string().min(32, "at least 32 characters").optional(),
  TOKEN_ENCRYPTION_KEY: z.string().regex(KEY_FORMAT, "32 bytes as 64 hex digits or base64").optional(),
  /** Keys being rotated out: they still open stored tokens, which are sealed again with the current key. */
  TOKEN_ENCRYPTION_KEYS_OLD: z
    .string()
    .default("")
    .transform(commaList)
    .refine(
      (keys) => keys.every((k) => KEY_FORMAT.test(k)),
      "comma-separated keys, each 32 bytes as 64 hex digits or base64",
    ),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(10),
  /**
   * Gmail quota units per user per second that all workers together may spend; 0 = no limit. The
   * older form of GMAIL_USER_UNITS_PER_MINUTE (× 60); unset, the profile's value holds.
   */
  GMAIL_USER_UNITS_PER_SECOND: quotaRate(1_000_000).optional(),
  /** Gmail quota units per second for the whole project; 0 = no limit. Older form of …_PER_MINUTE. */
  GMAIL_PROJECT_UNITS_PER_SECOND: quotaRate(10_000_000).optional(),
  /** `legacy` or `2026` (default): Google's quota profile of the project (core/gmail/quotaProfile.ts). */
  GMAIL_QUOTA_PROFILE: z.string().optional(),
  /** Overrides of the profile's limits, in quota units; 0 = no limit. */
  GMAIL_USER_UNITS_PER_MINUTE: z.string().optional(),
  GMAIL_PROJECT_UNITS_PER_MINUTE: z.string().optional(),
  GMAIL_PROJECT_UNITS_PER_DAY: z.string().optional(),
  /** `method:units,…` over Google's per-method costs, e.g. `messages.get:20,threads.get:40`. */
  GMAIL_METHOD_COSTS: z.string().optional(),
  /**
   * Whole-message gets per request to Gmail's batch endpoint (`<GMAIL_API_ROOT>batch/gmail/v1`)
   * in the worker's syncs; 1 = one `messages.get` per message (batching off). Google allows 100
   * and advises at most 50, the default. Quota and retries stay per message; a batched sync keeps
   * two batches in flight (core/gmail/GmailBatch.ts, README "Gmail's batch endpoint").
   */
  GMAIL_BATCH_SIZE: z.coerce.number().int().min(1).max(100).default(50),
  /**
   * The demo switch: lets a production process run against the Gmail simulator (or any plain-http
   * Google stand-in) with the dev OAuth client. Never set it where real people sign in.
   */
  INBOX_SYNC_DEMO: z.enum(["0", "1"], "must be 1 (demo) or 0").default("0"),
  /**
   * Bearer token that /metrics asks for, on the web port and a worker's WORKER_METRICS_PORT;
   * unset = /metrics is not served on either. Metrics
   * name users' queue depth and request volumes: not for the public.
   */
  METRICS_TOKEN: z.string().min(32, "at least 32 characters").optional(),
  /** Comma-separated e-mail addresses allowed to open /admin/queues. */
  ADMIN_EMAILS: z.string().default(""),
  /**
   * Comma-separated Google account ids (`sub`) allowed to open /admin/queues. When set, it alone
   * decides and ADMIN_EMAILS is ignored: an address can pass to someone else, a `sub` cannot.
   */
  ADMIN_SUBS: z
    .string()
    .regex(/^[\w\s,.-]*$/, "must be comma-separated Google account ids (the ID token's sub)")
    .default(""),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().default(".data"),
  /**
   * Seconds a task's owner (a worker's job or a web node's stream) may go without renewing its
   * lease before another runner may take the task over. The owner renews every third of it.
   */
  TASK_LEASE_SECONDS: z.coerce.number().int().min(3).max(600).default(10),
  /**
   * Seconds a worker's BullMQ job lock lasts without renewal: how soon BullMQ hands a dead
   * worker's job to another worker. Defaults to TASK_LEASE_SECONDS so both lapse together.
   */
  WORKER_LOCK_SECONDS: z.coerce.number().int().min(2).max(3600).optional(),
  /**
   * Longest stretch one sync holds a worker slot while other syncs wait: then it hands its task
   * back to the queue (behind them) and resumes later where it stopped. 0 = never.
   */
  SYNC_SLICE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /**
   * Port of a worker's own Prometheus /metrics (0 = any free port); unset = no port. It answers
   * METRICS_TOKEN's bearer alone, and nothing without METRICS_TOKEN, as the web's /metrics does.
   */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * The worker process's niceness (0-19): syncs are throughput work, clicks are not, so where a
   * worker shares CPUs with a web node (one host, docker compose) the web node is served first.
   * Idle CPU still goes to the worker. 0 = the same priority as everything else. 5, not more:
   * at 10 many syncs at once slowed by 40% beside busy web nodes (README, Deploy, CPU priority).
   */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(5),
  /** Seconds after which a worker that stopped beating counts as gone. */
  WORKER_HEARTBEAT_TTL: z.coerce.number().int().min(2).max(600).default(10),
  /** Hours a browser session may go unused before it ends (besides its 30-day lifetime). */
  SESSION_IDLE_HOURS: z.coerce.number().positive().max(720).default(72),
  /** How often each web node checks that its sockets' sessions and API tokens are still valid. */
  SOCKET_RECHECK_SECONDS: z.coerce.number().positive().max(3600).default(30),
  // Abuse limits as "points/seconds"; server/middleware/rateLimit.ts says what each one counts.
  RATE_LIMIT_SIGN_IN: rateLimit("30/60"),
  RATE_LIMIT_BAD_TOKEN: rateLimit("10/60"),
  RATE_LIMIT_SYNC: rateLimit("20/60"),
  RATE_LIMIT_TOKEN_CREATE: rateLimit("10/3600"),
  RATE_LIMIT_SOCKET_CONNECT: rateLimit("30/60"),
  RATE_LIMIT_SUBSCRIBE: rateLimit("60/60"),
  /** Streaming syncs one user may hold open at once, across every web node. */
  RATE_LIMIT_STREAMS: z.coerce.number().int().min(1).max(1000).default(2),
  /** Per IP: `POST /webhooks/gmail` (Pub/Sub delivers from few addresses, so the default is high). */
  RATE_LIMIT_GMAIL_PUSH: rateLimit("1200/60"),
  /**
   * The Pub/Sub topic Gmail publishes mailbox changes to (`projects/<project>/topics/<topic>`).
   * Set = push is on: accounts are watched and `POST /webhooks/gmail` syncs them; unset = the
   * schedule (SYNC_SCHEDULE_INTERVAL_SECONDS) keeps mail current instead.
   */
  GMAIL_PUSH_TOPIC: z.string().regex(PUSH_TOPIC, "must be projects/<project>/topics/<topic>").optional(),
  /** The `aud` a push's OIDC token must carry (the subscription's audience); default PUBLIC_URL/webhooks/gmail. */
  GMAIL_PUSH_AUDIENCE: z.string().trim().min(1).optional(),
  /** The `email` a push's token must carry: the push subscription's service account. */
  GMAIL_PUSH_SERVICE_ACCOUNT: z.email("must be a service account's e-mail address").optional(),
  /** Google's OIDC signing keys as a JWK set; default Google's (or the simulator's with GMAIL_SIM_URL). */
  GMAIL_PUSH_JWKS_URL: optionalUrl,
  /** Label ids a watch is limited to (comma-separated); unset = every change of the mailbox. */
  GMAIL_PUSH_LABEL_IDS: z.string().default("").transform(commaList),
  /** With GMAIL_PUSH_LABEL_IDS: push for changes to mail with one of them, or only without any. */
  GMAIL_PUSH_LABEL_FILTER: z.enum(["include", "exclude"], "must be include or exclude").default("include"),
  /** Pushes for one user within this many ms of the first make one sync. */
  SYNC_DEBOUNCE_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  /** With push off: how often recently active accounts get an incremental sync; 0 = never. */
  SYNC_SCHEDULE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(604_800).default(900),
  /** "Recently active" for the schedule: a session or API token used within this many days. */
  SYNC_SCHEDULE_ACTIVE_DAYS: z.coerce.number().positive().max(365).default(14),
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

/** The OAuth client of development and of the simulator, which accepts any client. */
const DEV_CLIENT = { id: "inbox-sync-dev", secret: "inbox-sync-dev-secret" };

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
      gmailPush: e.RATE_LIMIT_GMAIL_PUSH,
    },
    gmailPush,
    liveSync: {
      debounceMs: e.SYNC_DEBOUNCE_MS,
      scheduleIntervalSeconds: e.SYNC_SCHEDULE_INTERVAL_SECONDS,
      activeDays: e.SYNC_SCHEDULE_ACTIVE_DAYS,
    },
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
