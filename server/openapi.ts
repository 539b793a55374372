import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from "zod-openapi";
import { ApiErrorSchema } from "../core/contract/schemas";
import * as account from "./routes/api/account/schema";
import * as accounts from "./routes/api/accounts/schema";
import * as changes from "./routes/api/changes/schema";
import * as emails from "./routes/api/emails/schema";
import * as labels from "./routes/api/labels/schema";
import * as me from "./routes/api/me/schema";
import type { DeclaredResponse, RouteSchema } from "./routes/api/route";
import * as sync from "./routes/api/sync/schema";
import * as tokens from "./routes/api/tokens/schema";
import * as auth from "./routes/auth/schema";
import * as docs from "./routes/docs/schema";
import * as ops from "./routes/ops/schema";
import * as webhooks from "./routes/webhooks/schema";

const isRoute = (value: unknown): value is RouteSchema =>
  typeof value === "object" && value !== null && "method" in value && "path" in value && "responses" in value;

/** Every route of the web process, as the schema.ts files declare them. */
export const ROUTES: RouteSchema[] = [
  auth,
  me,
  emails,
  labels,
  sync,
  tokens,
  account,
  accounts,
  changes,
  ops,
  docs,
  webhooks,
].flatMap((module) => Object.values(module).filter(isRoute));

/** Express's `/api/emails/:id` in OpenAPI's form, `/api/emails/{id}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

function response(declared: DeclaredResponse): ZodOpenApiResponseObject {
  const headers = declared.headers
    ? Object.fromEntries(
        Object.entries(declared.headers).map(([name, description]) => [
          name,
          { description, schema: { type: "string" as const } },
        ]),
      )
    : undefined;
  // A route may answer JSON and, when asked by Accept, another media type (the change feed's SSE).
  const media = {
    ...(declared.schema && { "application/json": { schema: declared.schema } }),
    ...(declared.mediaType && {
      [declared.mediaType]: { schema: declared.itemSchema ?? { type: "string" as const } },
    }),
  };
  const content = Object.keys(media).length ? media : undefined;
  return { description: declared.description, ...(headers && { headers }), ...(content && { content }) };
}

/**
 * What the shared middleware may answer before any route runs: authentication (401), the CSRF
 * check on a session's writes (403) and the JSON body parser (400, 413). A route's own
 * declaration of a status wins.
 */
export function sharedResponses(route: RouteSchema): Record<number, DeclaredResponse> {
  const answers: Record<number, DeclaredResponse> = {};
  const write = route.method !== "get";
  if (route.path.startsWith("/api/") && write) {
    answers[400] = {
      description: "invalid_json or bad_request: the body could not be parsed",
      schema: ApiErrorSchema,
    };
    answers[413] = { description: "payload_too_large: bodies are capped at 64 kB", schema: ApiErrorSchema };
  }
  if (route.auth === "none") return answers;
  answers[401] = {
    description:
      "unauthorized: no session cookie or API token, or an ended one; token_expired: an API token past its expiry",
    schema: ApiErrorSchema,
  };
  const refusals = [
    write && "csrf_failed: a session's write without its X-CSRF-Token",
    route.auth === "session" && "session_required: API tokens cannot call this",
    route.auth === "session_or_token" &&
      route.scope &&
      `insufficient_scope: an API token without the \`${route.scope}\` scope`,
  ].filter((r): r is string => Boolean(r));
  if (refusals.length > 0) answers[403] = { description: refusals.join("; "), schema: ApiErrorSchema };
  return answers;
}

function operation(route: RouteSchema): ZodOpenApiOperationObject {
  const declared = { ...sharedResponses(route), ...route.responses };
  return {
    operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string = "") => c.toUpperCase())}`,
    summary: route.summary,
    ...(route.description && { description: route.description }),
    tags: [route.tag],
    security:
      route.auth === "none"
        ? []
        : route.auth === "session"
          ? [{ session: [] }]
          : // Bearer first: it is what a script sends, so tools and the reference page's samples use it.
            [{ bearer: route.scope ? [route.scope] : [] }, { session: [] }],
    ...((route.params || route.query) && {
      requestParams: {
        ...(route.params && { path: route.params }),
        ...(route.query && { query: route.query }),
      },
    }),
    ...(route.body && { requestBody: { content: { "application/json": { schema: route.body } } } }),
    responses: Object.fromEntries(Object.entries(declared).map(([status, r]) => [status, response(r)])),
  };
}

const cached = new Map<string, ReturnType<typeof createDocument>>();

/**
 * The OpenAPI 3.1 document, generated once per address from ROUTES (served at /api/openapi.json).
 * `publicUrl` (the app's PUBLIC_URL) becomes its one `servers` entry, so tools and the reference
 * page's samples call the app by its full address; without it the document has no `servers`.
 */
export function openApiDocument(publicUrl?: string): ReturnType<typeof createDocument> {
  const key = publicUrl ?? "";
  const known = cached.get(key);
  if (known) return known;
  const settings = publicUrl ? `${publicUrl}/settings` : "the app's settings page (/settings)";
  const paths: ZodOpenApiPathsObject = {};
  for (const route of ROUTES) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  const document = createDocument({
    openapi: "3.1.0",
    ...(publicUrl && { servers: [{ url: publicUrl, description: "This inbox-sync" }] }),
    info: {
      title: "inbox-sync",
      version: "1",
      description:
        "Pulls a Gmail mailbox into PostgreSQL in the background, with live progress. Every error is " +
        '`{"error":{"code":"snake_case","message":"…"}}`. Live progress also comes over Socket.IO ' +
        "(`task:subscribe`, `sync:progress`; see docs/http-api.md in the repository).",
    },
    components: {
      securitySchemes: {
        session: {
          type: "apiKey",
          in: "cookie",
          name: "isid",
          description:
            "The browser session (`__Host-isid` over https). Writes also need X-CSRF-Token from GET /api/me.",
        },
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            `An API token (\`isk_…\`), created on ${settings} or with POST /api/tokens. Each operation ` +
            "lists the scope a token needs " +
            "(`read`, `sync`; `changes` and `webhooks` are reserved); a token without it gets 403 " +
            "`insufficient_scope`, an expired one 401 `token_expired`.",
        },
      },
    },
    tags: [
      { name: "sign-in" },
      { name: "account" },
      { name: "accounts" },
      { name: "emails" },
      { name: "sync" },
      { name: "tokens" },
      { name: "changes" },
      { name: "operations" },
    ],
    paths,
  });
  cached.set(key, document);
  return document;
}
