import type { ApiError } from "../core/contract";
import { CliError, EXIT, settingsPage } from "./errors";

/** Where and as whom the CLI calls the API. */
export interface Client {
  /** The app's address, without a trailing slash. */
  url: string;
  /** The API token (`isk_…`). */
  token: string;
}

/** The token scope a route needs, named in the 403 message when it is missing. */
export type Scope = "read" | "sync" | "changes";

export const errorText = (body: unknown) => {
  const e = (body as Partial<ApiError> | null)?.error;
  return e ? `${e.code}: ${e.message}` : JSON.stringify(body);
};

/** The 401 and 403 answers, told as what to do next: they all end with a new token. */
function authError(client: Client, status: number, body: unknown, scope: Scope): CliError {
  const code = (body as Partial<ApiError> | null)?.error?.code;
  const page = settingsPage(client.url);
  if (status === 401 && code === "token_expired")
    return new CliError(`the API token has expired (401): create a new one at ${page}`, EXIT.auth);
  if (status === 401)
    return new CliError(`the API token was refused (401): create one at ${page}`, EXIT.auth);
  if (code === "insufficient_scope")
    return new CliError(
      `the API token lacks the "${scope}" scope this command needs (403 insufficient_scope): ` +
        `create a token with the ${scope} scope at ${page}`,
      EXIT.auth,
    );
  return new CliError(`the server refused the token (403): ${errorText(body)}`, EXIT.auth);
}

/** The exit code for an answer the command cannot use. */
export const exitFor = (status: number) =>
  status >= 500 ? EXIT.unavailable : status === 400 ? EXIT.usage : EXIT.refused;

async function send(client: Client, method: string, path: string, accept: string, body?: unknown) {
  try {
    return await fetch(`${client.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${client.token}`,
        accept,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${client.url}: ${(err as Error).message}`, EXIT.unavailable);
  }
}

/** Refusals every command treats alike: authentication, scope and rate limits. */
function refuseCommon(client: Client, res: Response, answer: unknown, scope: Scope, what: string): void {
  if (res.status === 401 || res.status === 403) throw authError(client, res.status, answer, scope);
  if (res.status === 429) {
    const wait = res.headers.get("retry-after");
    const when = wait ? `try again in ${wait} s` : "try again later";
    throw new CliError(`${what} was rate limited (429): ${when}`, EXIT.refused);
  }
}

/** One JSON request; 401, 403 and 429 become a CliError, other statuses are the caller's. */
export async function request<T>(
  client: Client,
  method: string,
  path: string,
  scope: Scope,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await send(client, method, path, "application/json", body);
  const text = await res.text();
  let answer: unknown = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    refuseCommon(client, res, null, scope, `${method} ${path}`);
    throw new CliError(
      `${method} ${path} answered ${res.status} with something that is not JSON`,
      EXIT.unavailable,
    );
  }
  refuseCommon(client, res, answer, scope, `${method} ${path}`);
  return { status: res.status, body: answer as T };
}

/** A POST whose answer is NDJSON: calls `onValue` with each line's value as it arrives. */
export async function streamNdjson(
  client: Client,
  path: string,
  onValue: (value: unknown) => void,
  body?: unknown,
): Promise<void> {
  const res = await send(client, "POST", path, "application/x-ndjson", body);
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => "");
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
    } catch {}
    refuseCommon(client, res, answer, "sync", "the stream");
    throw new CliError(`the stream answered ${res.status}: ${errorText(answer)}`, exitFor(res.status));
  }
  let buffer = "";
  const decoder = new TextDecoder();
  const take = (line: string) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return;
    }
    onValue(value);
  };
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      take(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  take(buffer);
}
