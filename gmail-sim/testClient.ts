/**
 * Test helpers: the real googleapis Gmail client authorised through the simulator's consent flow,
 * and a JSON caller for the control API. Only the simulator's tests import this file.
 */
import { OAuth2Client } from "google-auth-library";
import { type gmail_v1, google } from "googleapis";
import type { GmailSimulator } from "./server";

// biome-ignore lint/suspicious/noExplicitAny: control answers are read loosely by tests.
export type Json = any;

export const SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
const REDIRECT = "http://127.0.0.1:3999/auth/google/callback";

export async function gmailFor(sim: GmailSimulator, email: string): Promise<gmail_v1.Gmail> {
  const client = new OAuth2Client({
    clientId: "sim-test-client",
    clientSecret: "sim-test-secret",
    redirectUri: REDIRECT,
    endpoints: {
      oauth2AuthBaseUrl: `${sim.url}/o/oauth2/v2/auth`,
      oauth2TokenUrl: `${sim.url}/token`,
      oauth2RevokeUrl: `${sim.url}/revoke`,
    },
  });
  const authUrl = client.generateAuthUrl({ access_type: "offline", scope: [SCOPE], login_hint: email });
  const consent = await fetch(authUrl, { redirect: "manual" });
  const code = new URL(consent.headers.get("location")!).searchParams.get("code");
  if (!code) throw new Error(`no code for ${email}: ${consent.status}`);
  const { tokens } = await client.getToken(code);
  client.setCredentials(tokens);
  return google.gmail({ version: "v1", auth: client, rootUrl: `${sim.url}/`, retry: false });
}

export async function control(
  sim: GmailSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${sim.url}/sim${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Every id `messages.list` answers for a query, across all pages. */
export async function listAll(
  gmail: gmail_v1.Gmail,
  params: gmail_v1.Params$Resource$Users$Messages$List,
): Promise<string[]> {
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await gmail.users.messages.list({ userId: "me", maxResults: 500, ...params, pageToken });
    for (const m of data.messages ?? []) ids.push(m.id!);
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return ids;
}

/** The rejection of a googleapis call (a GaxiosError). */
export async function failure(promise: Promise<unknown>): Promise<{ status?: number; data?: Json }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Json;
    return { status: e.status ?? e.response?.status, data: e.response?.data };
  }
  throw new Error("expected the call to fail");
}
