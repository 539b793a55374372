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

export interface LoggerOptions {
  /** Colourful single-line output for a person at a terminal (needs pino-pretty). */
  pretty?: boolean;
  /** Where lines go instead of stdout (tests read them). */
  destination?: DestinationStream;
}

/**
 * One structured logger per process. OAuth tokens and cookies never reach a log line: errors go
 * through `safeError`, and redaction covers every other place tokens travel.
 */
export function createLogger(name: string, level = "info", options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    name,
    level,
    serializers: { err: safeError, error: safeError },
    redact: {
      paths: [
        "*.access_token",
        "*.refresh_token",
        "*.id_token",
        "*.accessToken",
        "*.refreshToken",
        "*.tokens",
        "*.authorization",
        "*.cookie",
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
      ],
      censor: "[redacted]",
    },
  };
  if (options.destination) return pino(settings, options.destination);
  if (options.pretty) {
    return pino({
      ...settings,
      transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss", ignore: "pid,hostname" } },
    });
  }
  return pino(settings);
}

export type { Logger };
