/**
 * `npx tsx bench/bare/storeFloor.ts <simUrl> <email> <databaseUrl> [batch] [inFlight]`: the floor
 * of a full sync (bench rows P3 and P5), with no code of the app in it. `fetch` against the same
 * simulator's OAuth code flow, listing and batch endpoint (`batch` gets of `format=full` a
 * request, `inFlight` requests at once, as the worker's sync), the same rows built from each
 * message (headers, bodies decoded, attachment listing, labels), and `pg` writing them into the
 * app's own `emails` table (every index and the generated search vector come with it) the fastest
 * way PostgreSQL offers: `COPY` into a temporary staging table, then one
 * `INSERT … SELECT … ON CONFLICT DO NOTHING` with the account's count kept in the same statement.
 * The labels and the account's history id are written too, as a sync writes them.
 *
 * Prints one JSON line: {stored, seconds, rate, cpuSelfS, cpuPgS} — this process's CPU and its
 * PostgreSQL backend's (read from /proc, so the database must run on this machine).
 */
import { readFileSync } from "node:fs";
import iconv from "iconv-lite";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

const SCOPE = "https://www.googleapis.com/auth/gmail.readonly";
/** Rows per COPY: enough to make a statement's fixed cost small, few enough to keep memory flat. */
const FLUSH_ROWS = 500;
const KEPT_HEADERS = new Set(["from", "to", "subject", "date", "message-id"]);

type Part = {
  mimeType?: string;
  filename?: string;
  headers?: Array<{ name: string; value: string }>;
  body?: { data?: string; attachmentId?: string; size?: number };
  parts?: Part[];
};
type Message = {
  id: string;
  threadId?: string;
  labelIds?: string[];
  snippet?: string;
  historyId?: string;
  internalDate?: string;
  sizeEstimate?: number;
  payload?: Part;
};

/** CPU seconds (user + system) of a process on this machine, from /proc/<pid>/stat. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function accessToken(simUrl: string, email: string): Promise<string> {
  const redirect = "http://127.0.0.1:9/callback";
  const auth = new URL(`${simUrl}/o/oauth2/v2/auth`);
  for (const [k, v] of Object.entries({
    client_id: "bench-floor",
    redirect_uri: redirect,
    response_type: "code",
    scope: SCOPE,
    access_type: "offline",
    login_hint: email,
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

/** A COPY text-format field. */
function field(value: string | null): string {
  if (value === null) return "\\N";
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

const noNul = (s: string) => (s.includes("\u0000") ? s.replaceAll("\u0000", "") : s);

function decode(part: Part): string | null {
  if (!part.body?.data) return null;
  const type = part.headers?.find((h) => h.name.toLowerCase() === "content-type")?.value ?? "";
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase() ?? "utf-8";
  const name = WHATWG_LABELS[charset] ?? charset;
  const bytes = Buffer.from(part.body.data, "base64url");
  return noNul(iconv.encodingExists(name) ? iconv.decode(bytes, name) : bytes.toString("utf8"));
}

/**
 * Labels read as another, as the WHATWG Encoding standard says. iconv-lite rather than
 * TextDecoder: Node 20's TextDecoder turns windows-1252's 0x80–0x9F into C1 controls.
 */
const WHATWG_LABELS: Record<string, string> = {
  "iso-8859-1": "windows-1252",
  "iso8859-1": "windows-1252",
  latin1: "windows-1252",
  l1: "windows-1252",
  "us-ascii": "utf-8",
  ascii: "utf-8",
  "x-unknown": "utf-8",
};

/** text, html and attachment listing of a `format=full` part tree (last alternative wins). */
function bodies(payload: Part | undefined) {
  const texts: string[] = [];
  const htmls: string[] = [];
  const attachments: object[] = [];
  const walk = (p: Part): void => {
    const type = (p.mimeType ?? "").toLowerCase();
    const disposition = p.headers?.find((h) => h.name.toLowerCase() === "content-disposition")?.value ?? "";
    if (p.filename || p.body?.attachmentId || /^\s*attachment\b/i.test(disposition)) {
      if (!p.body?.attachmentId) return;
      const cid = p.headers
        ?.find((h) => /^(content-id|x-attachment-id)$/i.test(h.name))
        ?.value.trim()
        .replace(/^<\s*/, "")
        .replace(/\s*>$/, "");
      attachments.push({
        attachmentId: p.body.attachmentId,
        filename: noNul(p.filename ?? ""),
        mimeType: noNul(p.mimeType ?? "application/octet-stream"),
        size: p.body.size ?? 0,
        ...(cid ? { contentId: noNul(cid) } : {}),
      });
      return;
    }
    if (type === "multipart/alternative") {
      const at = [texts.length, htmls.length] as const;
      for (const c of p.parts ?? []) walk(c);
      if (texts.length - at[0] > 1) texts.splice(at[0], texts.length - at[0] - 1);
      if (htmls.length - at[1] > 1) htmls.splice(at[1], htmls.length - at[1] - 1);
    } else if (type.startsWith("multipart/")) for (const c of p.parts ?? []) walk(c);
    else if (type === "text/plain" || type === "text/html") {
      const text = decode(p);
      if (text !== null) (type === "text/plain" ? texts : htmls).push(text);
    }
  };
  if (payload) walk(payload);
  return {
    text: texts.length ? texts.join("\n\n") : null,
    html: htmls.length ? htmls.join("\n") : null,
    attachments,
  };
}

/** One message as a line of COPY text format, in STAGING's column order. */
function copyLine(m: Message): string {
  const headers: Record<string, string> = {};
  for (const h of m.payload?.headers ?? [])
    if (KEPT_HEADERS.has(h.name.toLowerCase())) headers[h.name.toLowerCase()] = noNul(h.value ?? "");
  const internal = Number(m.internalDate);
  const date = new Date(internal > 0 ? internal : (headers.date ?? 0));
  const b = bodies(m.payload);
  const labels = `{${(m.labelIds ?? []).map((l) => `"${l.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
  return `${[
    m.id,
    m.threadId ?? m.id,
    headers.from ?? "",
    headers.to ?? "",
    headers.subject ?? "",
    noNul(m.snippet ?? ""),
    (Number.isNaN(date.getTime()) ? new Date(0) : date).toISOString(),
    labels,
    String(m.sizeEstimate ?? 0),
    m.historyId ?? null,
    JSON.stringify(headers),
    b.text,
    b.html,
    JSON.stringify(b.attachments),
    "t",
  ]
    .map(field)
    .join("\t")}\n`;
}

const STAGING = `CREATE TEMP TABLE staging (gmail_id text, thread_id text, from_address text, to_address text,
  subject text, snippet text, date timestamptz, labels text[], size_estimate integer, history_id text,
  headers jsonb, text_body text, html_body text, attachments jsonb, body_fetched boolean) ON COMMIT DELETE ROWS`;
const COLUMNS =
  "gmail_id, thread_id, from_address, to_address, subject, snippet, date, labels, size_estimate, history_id, headers, text_body, html_body, attachments, body_fetched";
const MERGE = `WITH ins AS (INSERT INTO emails (user_id, ${COLUMNS}) SELECT $1, ${COLUMNS} FROM staging
  ON CONFLICT (user_id, gmail_id) DO NOTHING RETURNING 1)
  UPDATE gmail_accounts SET email_count = email_count + (SELECT count(*) FROM ins) WHERE user_id = $1`;

/** Writes `lines` in one transaction: COPY into the staging table, then one INSERT … SELECT. */
async function flush(db: pg.Client, userId: string, lines: string[]): Promise<void> {
  await db.query("BEGIN");
  const stream = db.query(copyFrom(`COPY staging (${COLUMNS}) FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on("finish", resolve);
    stream.on("error", reject);
  });
  stream.end(lines.join(""));
  await done;
  await db.query(MERGE, [userId]);
  await db.query("COMMIT");
}

async function gmailJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** One batch request of `format=full` gets; answers the messages in the order asked. */
async function batchGet(root: string, token: string, ids: string[]): Promise<Message[]> {
  const boundary = `floor_${Math.random().toString(36).slice(2)}`;
  const body = ids
    .map(
      (id, i) =>
        `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=full\r\n\r\n`,
    )
    .join("");
  const res = await fetch(`${root}/batch/gmail/v1`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": `multipart/mixed; boundary=${boundary}` },
    body: `${body}--${boundary}--\r\n`,
  });
  const text = await res.text();
  const outer = /boundary=("?)([^";]+)\1/.exec(res.headers.get("content-type") ?? "")?.[2];
  if (!res.ok || !outer) throw new Error(`batch: ${res.status} ${text.slice(0, 200)}`);
  return text
    .split(`--${outer}`)
    .slice(1, -1)
    .map((part) => {
      const http = part.slice(part.indexOf("\r\n\r\n") + 4);
      if (!/^HTTP\/1\.1 200/.test(http)) throw new Error(`batch part: ${http.slice(0, 100)}`);
      return JSON.parse(http.slice(http.indexOf("\r\n\r\n") + 4)) as Message;
    });
}

/** The account's rows, as the app's sign-in leaves them. */
async function account(db: pg.Client, email: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO users (id, email) VALUES (gen_random_uuid(), $1) RETURNING id",
    [email],
  );
  await db.query(
    "INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (gen_random_uuid(), $1, $2, 'unused')",
    [rows[0]!.id, email],
  );
  return rows[0]!.id;
}

async function labels(db: pg.Client, root: string, token: string, userId: string): Promise<void> {
  const { labels: list } = await gmailJson<{ labels: Array<Record<string, any>> }>(
    `${root}/gmail/v1/users/me/labels`,
    token,
  );
  await db.query(
    `INSERT INTO labels (user_id, label_id, name, type, color_text, color_background)
     SELECT $1, l->>'id', l->>'name', l->>'type', l->'color'->>'textColor', l->'color'->>'backgroundColor'
     FROM jsonb_array_elements($2::jsonb) l ON CONFLICT (user_id, label_id) DO NOTHING`,
    [userId, JSON.stringify(list)],
  );
}

/** The listing, page by page, each page's ids fetched by `inFlight` requests of `batch`. */
async function sync(
  db: pg.Client,
  root: string,
  token: string,
  userId: string,
  batch: number,
  inFlight: number,
) {
  const profile = await gmailJson<{ historyId: string }>(`${root}/gmail/v1/users/me/profile`, token);
  await labels(db, root, token, userId);
  const ids: string[] = [];
  let listing: Promise<void> | null = (async () => {
    let pageToken = "";
    do {
      const page = await gmailJson<{ messages?: Array<{ id: string }>; nextPageToken?: string }>(
        `${root}/gmail/v1/users/me/messages?maxResults=500&includeSpamTrash=false${pageToken ? `&pageToken=${pageToken}` : ""}`,
        token,
      );
      for (const m of page.messages ?? []) ids.push(m.id);
      pageToken = page.nextPageToken ?? "";
    } while (pageToken);
  })().finally(() => {
    listing = null;
  });
  let next = 0;
  let lines: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  const write = (all: string[]) => {
    writing = writing.then(() => flush(db, userId, all));
    return writing;
  };
  const lane = async () => {
    for (;;) {
      while (next >= ids.length && listing)
        await Promise.race([listing, new Promise((r) => setTimeout(r, 5))]);
      if (next >= ids.length) return;
      const take = ids.slice(next, next + batch);
      next += take.length;
      for (const m of await batchGet(root, token, take)) lines.push(copyLine(m));
      if (lines.length >= FLUSH_ROWS) {
        const full = lines;
        lines = [];
        // One write at a time; a lane waits only when the one before it is still being written.
        await write(full);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await write(lines);
  await db.query("UPDATE gmail_accounts SET history_id = $2, last_sync_at = now() WHERE user_id = $1", [
    userId,
    profile.historyId,
  ]);
}

async function main() {
  const [simUrl, email, databaseUrl, batchArg, inFlightArg] = process.argv.slice(2);
  if (!simUrl || !email || !databaseUrl)
    throw new Error("usage: storeFloor.ts <simUrl> <email> <databaseUrl> [batch] [inFlight]");
  const token = await accessToken(simUrl, email);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(STAGING);
  const userId = await account(db, email);
  const { rows } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const backend = rows[0]!.pid;
  const pgBefore = cpuSecondsOf(backend);
  const cpu = process.cpuUsage();
  const t = performance.now();
  await sync(db, simUrl, token, userId, Number(batchArg ?? 50), Number(inFlightArg ?? 2));
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuPgS = cpuSecondsOf(backend) - pgBefore;
  const counted = await db.query<{ n: number }>(
    "SELECT email_count AS n FROM gmail_accounts WHERE user_id = $1",
    [userId],
  );
  await db.end();
  const stored = Number(counted.rows[0]!.n);
  process.stdout.write(
    `${JSON.stringify({ stored, seconds, rate: stored / seconds, cpuSelfS: (used.user + used.system) / 1e6, cpuPgS })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
