import type { z } from "zod";
import type { TokenScope } from "../../../core/auth/scopes";
import { ApiErrorSchema } from "../../../core/contract/schemas";

/** One declared answer of a route: JSON with a schema, another media type, or no body. */
export interface DeclaredResponse {
  description: string;
  /** The JSON body; absent for 204, redirects and non-JSON answers. */
  schema?: z.ZodType;
  /** A non-JSON body (NDJSON lines, an HTML page), described in words. */
  mediaType?: string;
  /** Its schema, for a non-JSON media type whose items have one (an NDJSON line). */
  itemSchema?: z.ZodType;
  headers?: Record<string, string>;
}

/**
 * Who may call a route: anyone, only a browser session, or a session or an API token holding
 * `scope`. The authentication middleware enforces both (server/middleware/authenticate.ts): a
 * token on a session route gets 403 `session_required`, one without the scope 403
 * `insufficient_scope`. A session has every scope.
 */
export type RouteAuth =
  | { auth: "none" | "session"; scope?: never }
  | {
      auth: "session_or_token";
      /** The scope a token needs; null: any token of the user (a token revoking itself). */
      scope: TokenScope | null;
    };

/**
 * Everything known about one route, in its resource's schema.ts: what it takes (params, query,
 * body, checked by the `validate` middleware), who may call it (`auth`, `scope`), what each
 * failing field answers (`codes`), and every answer it gives. The OpenAPI document is generated
 * from these alone.
 */
export type RouteSchema = RouteAuth & {
  method: "get" | "post" | "put" | "delete";
  /** Express's form, from the app's root: `/api/emails/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The error code for a bad value of each field; others are `invalid_request`. */
  codes?: Record<string, string>;
  responses: Record<number, DeclaredResponse>;
};

export const json = (schema: z.ZodType, description: string): DeclaredResponse => ({ schema, description });

/** An error answer; the description names its codes. */
export const error = (description: string): DeclaredResponse => ({ schema: ApiErrorSchema, description });

export const noContent = (description: string): DeclaredResponse => ({ description });

/** Lets each schema.ts be checked as a RouteSchema while keeping its literal types. */
export const route = <S extends RouteSchema>(schema: S): S => schema;

interface RouteMatcher {
  route: RouteSchema;
  pattern: RegExp;
  params: number;
}

/**
 * Finds the declared route of a request. Literal paths win over ones with parameters
 * (`/api/emails/sync` before `/api/emails/:id`), as Express's registration order makes them.
 */
export function routeFinder(
  routes: readonly RouteSchema[],
): (method: string, path: string) => RouteSchema | undefined {
  const matchers: RouteMatcher[] = routes
    .map((route) => ({
      route,
      params: (route.path.match(/:/g) ?? []).length,
      pattern: new RegExp(
        `^${route.path.replace(/[.+*?^$()[\]{}|\\]/g, "\\$&").replace(/:[A-Za-z0-9_]+/g, "[^/]+")}/?$`,
        "i",
      ),
    }))
    .sort((a, b) => a.params - b.params);
  return (method, path) => {
    const m = method.toLowerCase();
    // Express matches paths without regard to case, so this must too.
    return matchers.find((x) => x.route.method === m && x.pattern.test(path))?.route;
  };
}
