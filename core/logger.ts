import pino, { type DestinationStream, type Logger } from "pino";

/**
 * What an error may say in a log line: its kind, message, codes and stack. HTTP client errors
 * (gaxios) carry the request config, headers and bodies, which hold bearer and refresh tokens;
 * none of that is copied.
 */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & {
    code?: unknown;
    status?: unknown;
    response?: { status?: unknown };
    cause?: unknown;
  };
  return {
    type: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(typeof e.status === "number" ? { status: e.status } : {}),
    ...(typeof e.response?.status === "number" ? { status: e.response.status } : {}),
    stack: e.stack,
  };
}

/**
 * Keys whose values never reach a log line, at any depth, compared without case, `_` or `-`
 * (so `refresh_token`, `refreshToken` and `Refresh-Token` are one). OAuth's `code` and `state`
 * are in the list: a sign-in's query or a token request's body names them.
 */
const SECRET_KEYS = new Set(
  [
    "token",
    "tokens",
    "access_token",
    "refresh_token",
    "id_token",
    "api_token",
    "code",
    "code_verifier",
    "state",
    "client_secret",
    "secret",
    "session_secret",
    "password",
    "authorization",
    "cookie",
    "set-cookie",
    "csrf_token",
  ].map((k) => k.replace(/[-_]/g, "")),
);
const isSecretKey = (key: string) => SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ""));
export const REDACTED = "[redacted]";
/** Deeper than any object the app logs; past it a value is dropped rather than checked. */
const MAX_DEPTH = 8;

/**
 * A copy of a log line's object with every secret-named value replaced, at any depth. pino's own
 * `redact` takes explicit paths only (a wildcard stands for one level, never "any depth"), so a
 * token one level further down than a listed path would be written; this walks the object
 * instead. Numbers and booleans stay (a count under `tokens` is no secret). An Error keeps only what
 * `safeError` copies (the line's own `err`/`error` are left to that serializer). Cycles and depth are bounded so a log call never loops.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (value instanceof Error) return safeError(value);
  if (seen.has(value)) return "[circular]";
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  seen.add(value);
  let copy: unknown;
  if (Array.isArray(value)) copy = value.map((item) => redactDeep(item, depth + 1, seen));
  else {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const hidden =
        isSecretKey(key) && inner !== null && typeof inner !== "number" && typeof inner !== "boolean";
      const serialized = depth === 0 && (key === "err" || key === "error") && inner instanceof Error;
      out[key] = hidden ? REDACTED : serialized ? inner : redactDeep(inner, depth + 1, seen);
    }
    copy = out;
  }
  seen.delete(value);
  return copy;
}

export interface LoggerOptions {
  /** Colourful single-line output for a person at a terminal (needs pino-pretty). */
  pretty?: boolean;
  /** Where lines go instead of stdout (tests read them). */
  destination?: DestinationStream;
}

/**
 * One structured logger per process. OAuth tokens, codes and cookies never reach a log line:
 * errors go through `safeError`, and every line's object and every child's bindings through
 * `redactDeep`.
 */
export function createLogger(name: string, level = "info", options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    name,
    level,
    serializers: { err: safeError, error: safeError },
    formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
  };
  const logger = options.destination
    ? pino(settings, options.destination)
    : options.pretty
      ? pino({
          ...settings,
          transport: {
            target: "pino-pretty",
            options: { translateTime: "HH:MM:ss", ignore: "pid,hostname" },
          },
        })
      : pino(settings);
  return redactingChildren(logger);
}

/**
 * pino gives a child's bindings to no formatter (its `formatters.bindings` sees only the root's
 * name, pid and host), so `child` is wrapped here; children are created from their parent's
 * prototype and inherit the wrapper.
 */
function redactingChildren(logger: Logger): Logger {
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactDeep(bindings) as pino.Bindings, options);
  } as Logger["child"];
  return logger;
}

export type { Logger };
