import type { z } from "zod";
import { ROUTES, sharedResponses } from "../server/openapi";
import type { RouteSchema } from "../server/routes/api/route";
import type { ApiClient } from "./ApiClient";

const matchers = ROUTES.map((route) => ({
  route,
  // Literal paths win over ones with parameters (`/api/emails/sync` before `/api/emails/:id`).
  params: (route.path.match(/:/g) ?? []).length,
  pattern: new RegExp(`^${route.path.replace(/:[A-Za-z0-9_]+/g, "[^/]+")}$`),
})).sort((a, b) => a.params - b.params);

/** The route schema that declares `method path`, if any (unknown paths are the 404 handler's). */
export function declaredRoute(method: string, url: string): RouteSchema | undefined {
  const path = new URL(url, "http://x").pathname;
  return matchers.find((m) => m.route.method === method.toLowerCase() && m.pattern.test(path))?.route;
}

/**
 * Fails unless the answer is one the route's schema.ts declares: its status is listed (the
 * authentication's 401/403 and the body parser's 400/413 included) and its JSON body parses with
 * that status's schema, which names every field (strict objects: an extra field fails too).
 */
export function expectDeclared(method: string, url: string, status: number, body: unknown): void {
  const route = declaredRoute(method, url);
  if (!route) return;
  const where = `${method} ${url} → ${status}`;
  const declared = route.responses[status] ?? sharedResponses(route)[status];
  if (!declared) throw new Error(`${where}: status not declared in ${route.path}'s schema.ts`);
  if (!declared.schema) {
    if (body !== null && declared.mediaType === undefined)
      throw new Error(`${where}: declared without a body, got ${JSON.stringify(body)}`);
    return;
  }
  const parsed = (declared.schema as z.ZodType).safeParse(body);
  if (!parsed.success) {
    throw new Error(`${where}: body does not match its schema: ${JSON.stringify(parsed.error.issues)}`);
  }
}

/**
 * The client with every JSON answer checked against its route's declared schema: the API tests
 * use it, so an answer that drifts from the OpenAPI document fails the test that saw it.
 */
export function checkResponses(client: ApiClient): ApiClient {
  const json = client.json.bind(client);
  client.json = async (method, path, body) => {
    const answer = await json(method, path, body);
    expectDeclared(method, path, answer.status, answer.body);
    return answer;
  };
  const on = client.on.bind(client);
  client.on = (baseUrl) => checkResponses(on(baseUrl));
  return client;
}

/** The stack with every signed-in client checked (see checkResponses). */
export function checkedStack<S extends { signIn(email: string, node?: number): Promise<ApiClient> }>(
  stack: S,
): S {
  const signIn = stack.signIn.bind(stack);
  stack.signIn = async (email, node) => checkResponses(await signIn(email, node));
  return stack;
}
