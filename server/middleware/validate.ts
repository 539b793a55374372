import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { z } from "zod";
import { ValidationError } from "../../core/errors";
import type { RouteSchema } from "../routes/api/route";

declare global {
  namespace Express {
    interface Request {
      /** What `validate` parsed: params, query and body as the route's schema.ts declares them. */
      input?: { params: unknown; query: unknown; body: unknown };
    }
  }
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The typed input of a route whose `validate(schema)` ran before the handler. */
export type InputOf<S extends RouteSchema> = {
  params: Parsed<S["params"]>;
  query: Parsed<S["query"]>;
  body: Parsed<S["body"]>;
};

export function inputOf<S extends RouteSchema>(req: Request, _schema: S): InputOf<S> {
  if (!req.input) throw new Error("validate() did not run before this handler");
  return req.input as InputOf<S>;
}

const PLACES = ["params", "query", "body"] as const;

/**
 * A zod failure as our 400: the first problem, in words, with the field's code from the route's
 * schema (`codes`) or else `invalid_request`. A query parameter given twice is the request's
 * fault, not the field's: `invalid_request`, as for any other malformed request.
 */
export function validationErrorOf(
  error: z.ZodError,
  codes: Record<string, string> = {},
  raw: Record<string, unknown> = {},
): ValidationError {
  const issue = error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const s = issue.keys.length > 1 ? "s" : "";
    return new ValidationError(`Unknown field${s}: ${issue.keys.join(", ")}`, "invalid_request");
  }
  const field = issue.path[0] === undefined ? "" : String(issue.path[0]);
  if (!field) return new ValidationError("The body must be a JSON object.", "invalid_request");
  if (Array.isArray(raw[field])) {
    return new ValidationError(`${field} must be given once, as text`, "invalid_request");
  }
  return new ValidationError(issue.message, codes[field] ?? "invalid_request");
}

/**
 * Checks params, query and body against the route's schema.ts before the handler runs, and
 * hands the handler the parsed values (`inputOf`). A failure is a 400 `{error:{code,message}}`.
 */
export function validate(schema: RouteSchema): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const input: Record<string, unknown> = {};
    for (const place of PLACES) {
      const part = schema[place];
      const raw = place === "body" ? (req.body ?? {}) : req[place];
      if (!part) {
        input[place] = undefined;
        continue;
      }
      const parsed = part.safeParse(raw);
      if (!parsed.success) {
        const given = place === "query" ? (raw as Record<string, unknown>) : {};
        throw validationErrorOf(parsed.error, schema.codes, given);
      }
      input[place] = parsed.data;
    }
    req.input = input as Request["input"];
    next();
  };
}
