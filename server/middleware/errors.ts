import type { NextFunction, Request, Response } from "express";
import { AppError } from "../../core/errors";
import type { Logger } from "../../core/logger";

export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: object = {},
): void {
  res.status(status).json({ error: { code, message }, ...extra });
}

export function notFound(req: Request, res: Response): void {
  sendError(res, 404, "not_found", `No route for ${req.method} ${req.path}.`);
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * Every failure leaves as `{error:{code,message}}`. Our own errors keep their status; parser
 * errors become 4xx; anything else is a 500 that is logged and never shows its internals.
 */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof AppError) {
      sendError(res, err.status, err.code, err.message, err.extra);
      return;
    }
    const parser = err as BodyParserError;
    if (parser?.type === "entity.parse.failed") {
      sendError(res, 400, "invalid_json", "The request body is not valid JSON.");
      return;
    }
    if (parser?.type === "entity.too.large") {
      sendError(res, 413, "payload_too_large", "The request body is too large.");
      return;
    }
    if (err instanceof URIError) {
      sendError(res, 400, "invalid_path", "The address has a malformed %-escape.");
      return;
    }
    // Other client errors raised by Express and its parsers (http-errors carry a 4xx status).
    if (parser?.status && parser.status >= 400 && parser.status < 500) {
      const message = parser.expose ? (err as Error).message : "The request could not be understood.";
      sendError(res, parser.status, "bad_request", message);
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, "request failed");
    sendError(res, 500, "internal", "Something went wrong on our side.");
  };
}
