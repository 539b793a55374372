import { google } from "googleapis";
import { createOAuthClient, GMAIL_SCOPE } from "../../core/gmail/googleClients";
import { simGoogleConfig } from "../../test/simGmail";

/**
 * `npx tsx bench/bare/getLoop.ts <simUrl> <email> <concurrency>`: P3's floor in a process of its
 * own, as the worker is: the googleapis client alone listing the mailbox (untimed), then calling
 * `messages.get` (`format=full`, as the sync does) over every id at `concurrency` at once, with
 * no store, no queue and no progress. Prints `{"rate": messages/s}`.
 */
async function main() {
  const [simUrl, email, lanes] = process.argv.slice(2);
  if (!simUrl || !email) throw new Error("usage: getLoop.ts <simUrl> <email> [concurrency]");
  const concurrency = Number(lanes ?? 10);
  const config = simGoogleConfig(simUrl);
  const oauth = createOAuthClient(config);
  const consent = await fetch(
    oauth.generateAuthUrl({ access_type: "offline", scope: [GMAIL_SCOPE], login_hint: email }),
    { redirect: "manual" },
  );
  const code = new URL(consent.headers.get("location")!).searchParams.get("code")!;
  oauth.setCredentials((await oauth.getToken(code)).tokens);
  const gmail = google.gmail({ version: "v1", auth: oauth, rootUrl: config.apiRoot, retry: false });
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await gmail.users.messages.list({ userId: "me", maxResults: 500, pageToken });
    for (const m of data.messages ?? []) ids.push(m.id!);
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        // What the sync asks for: whole messages, bodies included.
        await gmail.users.messages.get({ userId: "me", id, format: "full" });
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ rate: ids.length / ((performance.now() - t) / 1000) })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
