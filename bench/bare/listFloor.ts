/**
 * `npx tsx bench/bare/listFloor.ts <simUrl> <email>`: the floor of a completeness check (bench row
 * C1), with no code of the app in it: the googleapis Gmail client walking `messages.list` (ids
 * only, 500 a page, spam and trash left out, as the check lists) from the first page to the last.
 *
 * It signs in through the simulator's OAuth code flow, prints `ready`, and lists the mailbox each
 * time a line arrives on stdin, printing one JSON line `{calls, ids}` when the listing ends: the
 * bench times it from the line it writes to the line it reads, the way it times the check from
 * its request to its end.
 */
import { createInterface } from "node:readline";
import { gmail } from "@googleapis/gmail";
import { OAuth2Client } from "google-auth-library";

const SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
const [simUrl, email] = process.argv.slice(2);
if (!simUrl || !email) throw new Error("usage: listFloor.ts <simUrl> <email>");

async function accessToken(): Promise<string> {
  const redirect = "http://127.0.0.1:9/callback";
  const auth = new URL(`${simUrl}/o/oauth2/v2/auth`);
  for (const [k, v] of Object.entries({
    client_id: "bench-floor",
    redirect_uri: redirect,
    response_type: "code",
    scope: SCOPE,
    access_type: "offline",
    login_hint: email!,
  }))
    auth.searchParams.set(k, v);
  const consent = await fetch(auth, { redirect: "manual" });
  const code = new URL(consent.headers.get("location")!).searchParams.get("code")!;
  const res = await fetch(`${simUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      code,
      client_id: "bench-floor",
      client_secret: "bench-floor",
      redirect_uri: redirect,
      grant_type: "authorization_code",
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function main() {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: await accessToken() });
  const client = gmail({ version: "v1", auth, rootUrl: `${simUrl}/` });
  const list = async () => {
    let calls = 0;
    let ids = 0;
    let pageToken: string | undefined;
    do {
      const { data } = await client.users.messages.list({
        userId: "me",
        maxResults: 500,
        includeSpamTrash: false,
        ...(pageToken ? { pageToken } : {}),
      });
      calls++;
      ids += data.messages?.length ?? 0;
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    return { calls, ids };
  };
  process.stdout.write("ready\n");
  for await (const _ of createInterface({ input: process.stdin })) {
    process.stdout.write(`${JSON.stringify(await list())}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`listFloor: ${err?.stack ?? err}\n`);
  process.exit(1);
});
