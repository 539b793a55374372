import pino, { type Logger } from "pino";

/**
 * One structured logger per process. OAuth tokens and cookies never reach a log line: the
 * redaction paths cover every place they travel (headers, token sets, request bodies).
 */
export function createLogger(name: string, level = "info", options: { pretty?: boolean } = {}): Logger {
  return pino({
    name,
    level,
    // Humans read a terminal; machines read JSON. pino-pretty is a dev dependency only.
    ...(options.pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: { translateTime: "HH:MM:ss", ignore: "pid,hostname" },
          },
        }
      : {}),
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
  });
}

export type { Logger };
