import type { z } from "zod";
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
 * Everything known about one route, in its resource's schema.ts: what it takes (params, query,
 * body, checked by the `validate` middleware), what each failing field answers (`codes`), and
 * every answer it gives. The OpenAPI document is generated from these alone.
 */
export interface RouteSchema {
  method: "get" | "post" | "put" | "delete";
  /** Express's form, from the app's root: `/api/emails/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Who may call it: anyone, a session or an API token, or only a browser session. */
  auth: "none" | "session_or_token" | "session";
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The error code for a bad value of each field; others are `invalid_request`. */
  codes?: Record<string, string>;
  responses: Record<number, DeclaredResponse>;
}

export const json = (schema: z.ZodType, description: string): DeclaredResponse => ({ schema, description });

/** An error answer; the description names its codes. */
export const error = (description: string): DeclaredResponse => ({ schema: ApiErrorSchema, description });

export const noContent = (description: string): DeclaredResponse => ({ description });

/** Lets each schema.ts be checked as a RouteSchema while keeping its literal types. */
export const route = <S extends RouteSchema>(schema: S): S => schema;
