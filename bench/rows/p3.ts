import { google } from "googleapis";
import { createOAuthClient, GMAIL_SCOPE } from "../../core/gmail/googleClients";
import { simGoogleConfig } from "../../test/simGmail";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { soloStack } from "./soloStack";

/** The per-sync concurrency the worker uses (syncMailbox's default), for the baseline too. */
const CONCURRENCY = 10;

/**
 * P3: a full sync through one worker process, the simulator at zero latency, against the bare
 * floor: the googleapis client alone calling `messages.get` (the same format and headers) at the
 * same concurrency against the same simulator, with no store, no queue and no progress.
 */
export async function p3(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 2_000 : 20_000;
  const stack = await soloStack(ctx);
  try {
    const { client: user, email } = await stack.user("p3", size);
    const baselineRate = await bareGetLoop(ctx.simUrl, email);

    const t = stamp();
    const { body } = await user.json("POST", "/api/emails/sync");
    const final = await finished(user, body.taskId);
    const rate = size / ((stamp() - t) / 1000);
    const exact = final.state === "completed" && final.result?.added === size;
    return [
      {
        id: "P3",
        what: `${size.toLocaleString("en-US")}-message full sync, one worker, simulator at zero latency`,
        figure: rate,
        baseline: baselineRate,
        baselineWhat: `bare googleapis messages.get loop, ${CONCURRENCY} at once`,
        unit: "messages/s",
        goal: "≥ 80% of baseline",
        met: !exact ? false : ctx.quick ? null : rate >= 0.8 * baselineRate,
        note: `${Math.round((rate / baselineRate) * 100)}% of baseline; ${exact ? "all stored" : `ended ${final.state}`}`,
      },
    ];
  } finally {
    await stack.close();
  }
}

/** messages/s of `messages.get` alone over the whole mailbox (listed first, untimed). */
async function bareGetLoop(simUrl: string, email: string): Promise<number> {
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
  const t = stamp();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await gmail.users.messages.get({
          userId: "me",
          id,
          // What the sync asks for: whole messages, bodies included.
          format: "full",
        });
      }
    }),
  );
  return ids.length / ((stamp() - t) / 1000);
}
