import http from "node:http";
import fc from "fast-check";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../test/ApiClient";
import { connectSocket, type TaskSocket } from "../test/socketClient";
import { type Stack, startStack } from "../test/stack";

/**
 * Property-based: thousands of generated malformed HTTP requests and socket messages against two
 * real web nodes. Whatever arrives, the answer is never a 5xx, every process keeps serving, and
 * no row in any table changes. PROPERTY_RUNS scales the run count (1,000 HTTP requests by
 * default, plus cursors, task ids and socket traffic); PROPERTY_SEED replays a failing run.
 */
const RUNS = Math.max(1, Number(process.env.PROPERTY_RUNS ?? 1000));
const SEED = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);
const settings = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns)), seed: SEED });

// ---- sending raw requests ----

interface RawRequest {
  node: number;
  method: string;
  /** Sent as is: no URL parser in between to tidy `..`, `%2e` or backslashes away. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

function send(base: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: r.method,
        path: r.path,
        // Node frames a GET or DELETE body only when told its length.
        headers: r.body ? { ...r.headers, "content-length": String(r.body.length) } : r.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${r.method} ${r.path.slice(0, 100)}`)));
    req.end(r.body);
  });
}

/**
 * What Node's client will put on the request line: characters outside printable ASCII (and `#`)
 * are percent-encoded; the rest go raw.
 */
const sendable = (path: string) =>
  [...path].map((ch) => (/^[\x21-\x7e]$/.test(ch) && ch !== "#" ? ch : pct(ch))).join("");

/** Percent-encodes every byte of a string's UTF-8 (lone surrogates become U+FFFD). */
const pct = (s: string) =>
  [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

// ---- the rows that must not change ----

/**
 * Columns that record when a credential was last used: reading with it may move them (and, on
 * the same rows, Sequelize's updated_at).
 */
const USE_CLOCKS = ["last_seen_at", "last_used_at"];

async function tableHashes(stack: Stack): Promise<Record<string, string>> {
  const db = stack.web.ctx.sequelize;
  const columns = (await db.query(
    `SELECT table_name AS name, array_agg(column_name::text) AS columns FROM information_schema.columns
     WHERE table_schema = current_schema()
       AND table_name IN (SELECT table_name FROM information_schema.tables
                          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
     GROUP BY table_name ORDER BY 1`,
    { type: "SELECT" },
  )) as Array<{ name: string; columns: string[] }>;
  const out: Record<string, string> = {};
  for (const { name, columns: cols } of columns) {
    const clocks = cols.filter((c) => USE_CLOCKS.includes(c));
    if (clocks.length > 0 && cols.includes("updated_at")) clocks.push("updated_at");
    const [row] = (await db.query(
      `SELECT count(*)::int AS n, coalesce(md5(string_agg(h, '' ORDER BY h)), '') AS hash
       FROM (SELECT md5((to_jsonb(t) - ARRAY[:clocks]::text[])::text) AS h FROM "${name}" t) x`,
      { replacements: { clocks: clocks.length ? clocks : [""] }, type: "SELECT" },
    )) as Array<{ n: number; hash: string }>;
    out[name] = `${row!.n} rows, ${row!.hash}`;
  }
  return out;
}

// ---- generators ----

const SQL = [
  "' OR 1=1 --",
  "'; DROP TABLE emails; --",
  "%' UNION SELECT password FROM users --",
  "\\'; SELECT pg_sleep(5); --",
  "1) OR (1=1",
  "$$; DELETE FROM sync_tasks; $$",
  "%",
  "_",
  "\\",
  "%%%%",
];
const SCRIPT = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "{{constructor.constructor('alert(1)')()}}",
  "$" + "{7*7}", // a template-injection probe, spelled so it is not a template
  "__proto__",
  "constructor",
  "prototype",
];
const NUMBERS = ["0", "-1", "1e309", "NaN", "Infinity", "0x10", "201", " 5 ", "1.5", "9".repeat(40), "-0"];
const UNICODE = [
  "😀".repeat(60),
  "\u202e",
  "\u0000",
  "\ufeff",
  "a\u0301",
  "Ⅻ",
  "ｆｕｌｌ",
  "\ud800",
  "\udfff",
];

const nasty = fc.oneof(
  fc.constantFrom(...SQL, ...SCRIPT, ...NUMBERS, ...UNICODE, "", " ", "null", "undefined", "[]", "{}"),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ maxLength: 400 }).map((s) => s.repeat(20)),
);

/** Bytes as they might arrive: invalid UTF-8 as %-escapes, and raw ASCII punctuation. */
const rawBytes = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 8 })
    .map((a) => [...a].map((b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("")),
  fc.stringMatching(/^[!-"$-%'-.:-@[-`{-~]{1,8}$/),
);

/** A value as it might appear in a path or query: encoded, encoded twice, or raw and malformed. */
const encoded = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    value.map(pct),
    value.map((v) => pct(pct(v))),
    fc.constantFrom(
      "%",
      "%zz",
      "%E0%A4%A",
      "%00",
      "%C0%AE%C0%AE",
      "%ED%A0%80",
      "%FF%FE",
      "%2e%2e",
      "%2F",
      "%5C",
    ),
    rawBytes,
  );

/** Cursors that decode, or nearly do, to values the API never issued. */
const isoLike = fc
  .tuple(
    fc.integer({ min: 0, max: 99999 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 9999 }),
  )
  .map(
    ([y, mo, d, h, mi, s, ms]) =>
      `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}T${String(h).padStart(2, "0")}:${String(mi).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(ms).padStart(3, "0")}Z`,
  );
const realInstant = fc
  .date({
    min: new Date("0001-01-01T00:00:00.000Z"),
    max: new Date("9999-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
const oddDate = fc.oneof(
  fc.constantFrom(
    "2024-02-30T00:00:00.000Z",
    "2023-02-29T12:00:00.000Z",
    "0000-01-01T00:00:00.000Z",
    "+275760-09-13T00:00:00.000Z",
    "-000001-01-01T00:00:00.000Z",
    "+010000-01-01T00:00:00.000Z",
    "1",
    "99999",
    "2024-13-01T00:00:00.000Z",
    "2024-01-01T24:00:00.000Z",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000+01:00",
    "Tue, 1 Jan 2030 00:00:00 GMT",
    "infinity",
    "-infinity",
    "epoch",
    "now",
    "allballs",
  ),
  isoLike,
  realInstant,
  fc
    .date({ noInvalidDate: false })
    .map((d) => (Number.isNaN(d.getTime()) ? "Invalid Date" : d.toISOString())),
  nasty,
);
const gmailId = fc.stringMatching(/^[0-9a-f]{16}$/);
const oddId = fc.oneof(gmailId, nasty, fc.constantFrom("", "a".repeat(129), "a\u0000b", "0'; --"));
const oddJson = fc.oneof(
  fc.tuple(oddDate, oddId).map((pair) => JSON.stringify(pair)),
  fc.tuple(realInstant, gmailId).map((pair) => JSON.stringify(pair)),
  fc.tuple(oddDate, oddId, fc.jsonValue()).map(([a, b, c]) => JSON.stringify([a, b, c])),
  fc.tuple(fc.jsonValue(), fc.jsonValue()).map((pair) => JSON.stringify(pair)),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
  fc.constantFrom(
    "[1e999, 1]",
    "[-0, -0]",
    '[123456789012345678901234567890, "a"]',
    '{"date":"x","id":"y"}',
    "[",
    "",
  ),
  nasty,
);
const cursorArb = fc.oneof(
  { weight: 6, arbitrary: oddJson.map((text) => Buffer.from(text, "utf8").toString("base64url")) },
  { weight: 1, arbitrary: oddJson.map((text) => Buffer.from(text, "utf8").toString("base64")) },
  { weight: 1, arbitrary: nasty },
);

const VOCAB = [
  "api",
  "emails",
  "sync",
  "status",
  "stream",
  "tokens",
  "me",
  "account",
  "sessions",
  "disconnect",
  "auth",
  "google",
  "callback",
  "logout",
  "admin",
  "queues",
  "healthz",
  "readyz",
  "metrics",
  "socket.io",
  "openapi.json",
  "docs",
  "labels",
  "attachments",
  "index.html",
  "app.js",
];

type Credentials =
  | "none"
  | "session"
  | "session-no-csrf"
  | "session-wrong-csrf"
  | "forged-session"
  | "token"
  | "wrong-token"
  | "other-user";

/** Credentials that would let a well-formed write through: such writes only get unreadable bodies. */
const WRITES_THROUGH: Credentials[] = ["session", "token", "other-user"];
const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

describe("malformed input against two web nodes (property-based)", () => {
  let stack: Stack;
  let owner: ApiClient;
  let other: ApiClient;
  let token: string;
  let ownTask: string;
  let otherTask: string;
  let ownEmails: string[];
  let otherEmails: string[];
  let before: Record<string, string>;

  async function streamSync(client: ApiClient): Promise<string> {
    const res = await client.raw("POST", "/api/emails/sync/stream");
    const lines = (await res.text()).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!);
    if (last.state !== "completed") throw new Error(`setup sync ended ${lines.at(-1)}`);
    return last.taskId;
  }

  beforeAll(async () => {
    // No worker: nothing runs in the background that could change a row while we watch.
    stack = await startStack({ webs: 2, workers: 0 });
    await stack.simControl("POST", "/sim/accounts", { email: "prop-owner@example.com", count: 30 });
    await stack.simControl("POST", "/sim/accounts", { email: "prop-other@example.com", count: 5 });
    owner = await stack.signIn("prop-owner@example.com");
    other = await stack.signIn("prop-other@example.com", 1);
    ownTask = await streamSync(owner);
    otherTask = await streamSync(other);
    token = (await owner.json("POST", "/api/tokens", { name: "property" })).body.token;
    ownEmails = (await owner.json("GET", "/api/emails?limit=200")).body.emails.map(
      (e: { id: string }) => e.id,
    );
    otherEmails = (await other.json("GET", "/api/emails?limit=200")).body.emails.map(
      (e: { id: string }) => e.id,
    );
    expect(ownEmails).toHaveLength(30);
    before = await tableHashes(stack);
  });
  afterAll(() => stack?.close());

  const url = (node: number) => stack.webs[node]!.url;

  async function expectStillWhole(): Promise<void> {
    for (const web of stack.webs) {
      expect((await fetch(`${web.url}/healthz`)).status).toBe(200);
      expect(web.server.listening).toBe(true);
    }
    expect((await owner.json("GET", "/api/me")).body.emailCount).toBe(30);
    expect(await tableHashes(stack)).toEqual(before);
  }

  function credentialHeaders(c: Credentials): Record<string, string> {
    switch (c) {
      case "none":
        return {};
      case "session":
        return { cookie: owner.cookieHeader, "x-csrf-token": owner.csrfToken! };
      case "session-no-csrf":
        return { cookie: owner.cookieHeader };
      case "session-wrong-csrf":
        return { cookie: owner.cookieHeader, "x-csrf-token": `${owner.csrfToken}x` };
      case "forged-session":
        return { cookie: `isid=${"A".repeat(43)}.${"B".repeat(43)}` };
      case "token":
        return { authorization: `Bearer ${token}` };
      case "wrong-token":
        return { authorization: `Bearer isk_${"x".repeat(43)}` };
      case "other-user":
        return { cookie: other.cookieHeader, "x-csrf-token": other.csrfToken! };
    }
  }

  /** Checks one answer: no 5xx, errors in our shape, no internals leaked. */
  function expectSafeAnswer(r: RawRequest, res: RawResponse): void {
    const where = `${r.method} ${r.path.slice(0, 160)} ${JSON.stringify(r.headers).slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`;
    expect(res.status, where).toBeGreaterThanOrEqual(100);
    expect(res.status, where).toBeLessThan(500);
    expect(res.text, where).not.toMatch(/node_modules|Sequelize|\n\s+at \S+ \(/);
    const ours = !/^\/+socket\.io/i.test(r.path);
    if (ours && r.method !== "HEAD" && res.status >= 400 && res.contentType.startsWith("application/json")) {
      const body = JSON.parse(res.text);
      expect(body.error?.code, where).toMatch(/^[a-z0-9_]+$/);
      expect(typeof body.error?.message, where).toBe("string");
    }
  }

  it(`${RUNS} generated malformed HTTP requests: never a 5xx, every node stays up, no row changes`, async () => {
    const knownId = fc.constantFrom(...ownEmails.slice(0, 3), ...otherEmails.slice(0, 3), ownTask, otherTask);
    const segment = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...VOCAB) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          "..",
          ".",
          "%2e%2e",
          "%2E%2E",
          "%2F",
          "",
          "%00",
          "\\..\\",
          ";x=1",
          "*",
          "~",
        ),
      },
      { weight: 2, arbitrary: encoded(nasty) },
      { weight: 1, arbitrary: knownId },
      { weight: 1, arbitrary: knownId.map((id) => id.toUpperCase()) },
      { weight: 1, arbitrary: fc.uuid() },
    );
    const prefix = fc.constantFrom(
      "/api/",
      "/api/emails/",
      "/api/emails/sync/status/",
      "/api/tokens/",
      "/API/",
      "/api//",
      "/auth/",
      "/auth/google/",
      "/",
      "//",
      "/admin/queues/",
      "/socket.io/",
    );
    const queryPair = fc
      .tuple(
        fc.oneof(
          fc.constantFrom(
            "limit",
            "cursor",
            "q",
            "limit[]",
            "q[a]",
            "cursor[0]",
            "q[__proto__]",
            "login_hint",
            "code",
            "state",
            "error",
            "EIO",
            "transport",
          ),
          encoded(nasty),
        ),
        fc.oneof(encoded(nasty), cursorArb.map(pct), cursorArb),
      )
      .map(([k, v]) => `${k}=${v}`);
    const emailsQuery = fc
      .array(
        fc
          .tuple(
            fc.constantFrom("limit", "limit", "cursor", "cursor", "q", "q", "limit[]", "q[a]"),
            fc.oneof(encoded(nasty), cursorArb.map(pct), encoded(fc.constantFrom(...NUMBERS))),
          )
          .map(([k, v]) => `${k}=${v}`),
        { minLength: 1, maxLength: 3 },
      )
      .map((pairs) => `?${pairs.join("&")}`);
    const query = fc.option(
      fc.array(queryPair, { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.join("&")}`),
      {
        nil: "",
      },
    );
    const anyPath = fc
      .tuple(prefix, fc.array(segment, { maxLength: 5 }), fc.constantFrom("/", "//", "/./", "/%2F"), query)
      .map(([p, segs, sep, q]) => `${p}${segs.join(sep)}${q}`);
    // The routes that read input, with odd input: most requests should get past the router.
    const routePath = fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom("/api/emails", "/api/emails/", "/API/Emails"), emailsQuery)
          .map(([p, q]) => p + q),
      },
      fc.tuple(fc.constantFrom("/auth/google", "/auth/google/callback"), query).map(([p, q]) => p + q),
      fc
        .tuple(fc.constantFrom("/api/emails/", "/api/emails/sync/status/", "/api/tokens/"), segment, query)
        .map(([p, seg, q]) => p + seg + q),
      fc.constantFrom(
        "/api/me",
        "/api/tokens",
        "/api/emails/sync",
        "/api/emails/sync/stream",
        "/auth/logout",
      ),
    );
    const path = fc
      .oneof({ weight: 3, arbitrary: routePath }, { weight: 2, arbitrary: anyPath })
      .map(sendable);

    const unreadable = fc
      .oneof(
        fc.string({ unit: "binary", maxLength: 300 }).map((s) => `{${s}`),
        fc.constantFrom(`{"name":${"[".repeat(5000)}`, '{"name":"x"', "[1,2,", "\u0000", '{"a":1}}'),
        fc.constant(`{"name":"${"x".repeat(70 * 1024)}"}`),
      )
      .filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      })
      .map((s) => Buffer.from(s, "utf8"));
    const anyBody = fc.oneof(
      unreadable,
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "null", "utf8")),
      fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
      fc.constant(Buffer.alloc(0)),
      fc.constant(Buffer.alloc(200 * 1024, 0x61)),
      fc.constantFrom(...SQL, ...SCRIPT).map((s) => Buffer.from(JSON.stringify({ name: s, q: s }), "utf8")),
    );
    const contentType = fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=klingon",
      "application/json;;;",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    );
    const extraHeaders = fc.record(
      {
        accept: fc.constantFrom("application/json", "text/html", "*/*", "application/x-ndjson", "image/png"),
        origin: fc.constantFrom("https://evil.example", "null", "http://127.0.0.1"),
        "x-forwarded-for": fc.constantFrom("203.0.113.7", "::1", "not-an-ip", "1.1.1.1, 2.2.2.2"),
        "content-encoding": fc.constantFrom("gzip", "deflate", "br", "bogus", "identity"),
        "x-csrf-token": fc.constantFrom("", "null", "x".repeat(64)),
      },
      { requiredKeys: [] },
    );

    const request: fc.Arbitrary<RawRequest> = fc
      .record({
        node: fc.integer({ min: 0, max: 1 }),
        method: fc.constantFrom(
          "GET",
          "GET",
          "GET",
          "GET",
          "HEAD",
          "OPTIONS",
          "POST",
          "POST",
          "PUT",
          "PATCH",
          "DELETE",
          "PROPFIND",
        ),
        credentials: fc.constantFrom<Credentials>(
          "none",
          "session",
          "session",
          "session",
          "session-no-csrf",
          "session-wrong-csrf",
          "forged-session",
          "token",
          "token",
          "wrong-token",
          "other-user",
        ),
        path,
        body: fc.option(anyBody, { nil: undefined }),
        bodyOnRead: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
        // Now and then raw bytes above 0x7F, which Node's HTTP parser itself refuses.
        rawHigh: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
        unreadable,
        contentType,
        extra: extraHeaders,
      })
      .map(
        ({
          node,
          method,
          credentials,
          path: clean,
          body: maybeBody,
          bodyOnRead,
          rawHigh,
          unreadable,
          contentType,
          extra,
        }) => {
          const path = rawHigh ? `${clean.slice(0, 4)}\u00ff\u00e9${clean.slice(4)}` : clean;
          const write = !SAFE_METHODS.includes(method);
          const body = write || bodyOnRead ? maybeBody : undefined;
          const credentialed = write && WRITES_THROUGH.includes(credentials);
          const headers: Record<string, string> = { ...extra, ...credentialHeaders(credentials) };
          if (credentialed) {
            // A write that could pass authentication must not be one the API would carry out:
            // it goes to the JSON parser of /api with a body that parser refuses.
            headers["content-type"] = "application/json";
            delete headers["content-encoding"];
            return {
              node,
              method,
              path: `/api/${path.replace(/^\/+(api\/+)?/i, "")}`,
              headers,
              body: unreadable,
            };
          }
          if (contentType) headers["content-type"] = contentType;
          if (!body) delete headers["content-encoding"];
          return { node, method, path, headers, body };
        },
      );

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        expectSafeAnswer(r, await send(url(r.node), r));
      }),
      settings(RUNS),
    );
    await expectStillWhole();
  }, 300_000);

  it(`${Math.round(RUNS / 4)} crafted cursors: 400 invalid_cursor or a page, never a 5xx; one this API issued always pages`, async () => {
    // Everything encodeCursor could ever write: a real instant PostgreSQL can hold, and a Gmail id.
    const issuable = fc.tuple(realInstant, gmailId).map(([d, id]) => ({
      cursor: Buffer.from(JSON.stringify([d, id])).toString("base64url"),
      valid: true,
    }));
    const crafted = cursorArb.map((cursor) => ({ cursor, valid: false }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(issuable, crafted),
        fc.integer({ min: 0, max: 1 }),
        async ({ cursor, valid }, node) => {
          const res = await owner.on(url(node)).raw("GET", `/api/emails?limit=5&cursor=${pct(cursor)}`);
          const body = await res.json();
          const where = `cursor ${cursor} (${Buffer.from(cursor, "base64url").toString("utf8")}) → ${res.status} ${JSON.stringify(body).slice(0, 200)}`;
          if (valid) expect(res.status, where).toBe(200);
          else expect([200, 400], where).toContain(res.status);
          if (res.status === 200) expect(Array.isArray(body.emails), where).toBe(true);
          else expect(body.error.code, where).toBe("invalid_cursor");
        },
      ),
      settings(RUNS / 4),
    );
    await expectStillWhole();
  }, 300_000);

  it("known cursors that once reached PostgreSQL answer 400 invalid_cursor", async () => {
    const cursors = [
      ["2024-02-30T00:00:00.000Z", "18c2a4f1e0000001"],
      ["2024-13-01T00:00:00.000Z", "18c2a4f1e0000001"],
      ["0000-01-01T00:00:00.000Z", "18c2a4f1e0000001"],
      ["1", "18c2a4f1e0000001"],
      ["+275760-09-13T00:00:00.000Z", "18c2a4f1e0000001"],
      ["Tue, 1 Jan 2030", "18c2a4f1e0000001"],
      ["2024-01-01T00:00:00.000Z", "a\u0000b"],
      ["2024-01-01T00:00:00.000Z", 5],
      ["2024-01-01T00:00:00.000Z"],
      { date: "2024-01-01T00:00:00.000Z", id: "x" },
    ];
    for (const value of cursors) {
      const cursor = Buffer.from(JSON.stringify(value)).toString("base64url");
      const res = await owner.json("GET", `/api/emails?cursor=${cursor}`);
      expect(res, JSON.stringify(value)).toEqual({
        status: 400,
        body: { error: { code: "invalid_cursor", message: expect.any(String) } },
      });
    }
    // A leap day exists, and the cursors the API hands out keep working.
    const leap = Buffer.from(JSON.stringify(["2024-02-29T00:00:00.000Z", "ffff"])).toString("base64url");
    expect((await owner.json("GET", `/api/emails?cursor=${leap}`)).status).toBe(200);
    const first = await owner.json("GET", "/api/emails?limit=10");
    const second = await owner.json("GET", `/api/emails?limit=10&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.emails.map((e: { id: string }) => e.id)).toEqual(ownEmails.slice(10, 20));
  });

  it(`${Math.round(RUNS / 4)} odd task ids over HTTP and sockets: the owner's task or not_found, never another's`, async () => {
    const socket = await connectSocket(url(1), { cookie: owner.cookieHeader });
    try {
      const taskId = fc.oneof(
        fc.constantFrom(
          ownTask,
          otherTask,
          ownTask.toUpperCase(),
          otherTask.toUpperCase(),
          `${ownTask} `,
          ` ${ownTask}`,
        ),
        fc.uuid(),
        nasty,
        fc.jsonValue(),
      );
      await fc.assert(
        fc.asyncProperty(taskId, fc.integer({ min: 0, max: 1 }), async (id, node) => {
          const mine = typeof id === "string" && id.toLowerCase() === ownTask;
          if (typeof id === "string") {
            const res = await owner.on(url(node)).raw("GET", `/api/emails/sync/status/${pct(id)}`);
            const body = await res.json();
            if (mine) expect([res.status, body.taskId]).toEqual([200, ownTask]);
            else expect([400, 404], `${JSON.stringify(id)} → ${res.status}`).toContain(res.status);
          }
          const ack = await socket.timeout(10_000).emitWithAck("task:subscribe", { taskId: id as string });
          if (mine) expect(ack).toMatchObject({ ok: true, snapshot: { taskId: ownTask } });
          else expect(ack, JSON.stringify(id)).toEqual({ ok: false, error: { code: "not_found" } });
        }),
        settings(RUNS / 4),
      );
    } finally {
      socket.close();
    }
    await expectStillWhole();
  }, 300_000);

  it(`${Math.round(RUNS / 2)} malformed socket messages and handshakes: the server answers or drops that socket, and stays up`, async () => {
    // Sockets that only ever send well-formed messages, one per node: the proof that each node
    // still serves after every hostile message.
    const sentinels = [
      await connectSocket(url(0), { cookie: owner.cookieHeader }),
      await connectSocket(url(1), { cookie: owner.cookieHeader }),
    ];
    let socket: TaskSocket | null = null;
    let node = 0;
    /** The socket that gets the hostile messages; a fresh one after anything that may end it. */
    const fresh = async (): Promise<TaskSocket> => {
      socket?.close();
      node = 1 - node;
      socket = await connectSocket(url(node), { cookie: owner.cookieHeader });
      return socket;
    };
    const RESERVED = [
      "connect",
      "connect_error",
      "disconnect",
      "disconnecting",
      "newListener",
      "removeListener",
    ];
    const event = fc.oneof(
      fc.constantFrom(
        "task:subscribe",
        "task:unsubscribe",
        "sync:progress",
        "__proto__",
        "constructor",
        "toString",
      ),
      fc.string({ maxLength: 30 }),
    );
    const payload = fc.oneof(
      fc.jsonValue(),
      fc.record({ taskId: fc.oneof(fc.jsonValue(), nasty) }),
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );
    // Socket.IO packets written straight onto the connection, well-formed or not.
    const rawPacket = fc
      .tuple(
        fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "9", ""),
        fc.constantFrom("", "/", "/admin,", "/nope,"),
        fc.option(fc.nat({ max: 1e12 }).map(String), { nil: "" }),
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? ""),
          fc.tuple(event, payload).map(([e, p]) => JSON.stringify([e, p])),
          fc.string({ unit: "binary", maxLength: 60 }),
          fc.constantFrom(
            "[",
            '["task:subscribe",',
            "[]",
            "[null]",
            '[{"x":1}]',
            '["task:subscribe",{"taskId":1}',
          ),
        ),
      )
      .map(([type, nsp, ackId, data]) => `${type}${nsp}${ackId}${data}`);
    const handshakeAuth = fc.oneof(
      fc.record({ token: fc.oneof(fc.jsonValue(), nasty, fc.constant(`isk_${"x".repeat(43)}`)) }),
      fc.object({ maxDepth: 2 }),
    );
    const message = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("subscribe" as const), payload }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("emit" as const),
          event,
          args: fc.array(payload, { maxLength: 3 }),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("raw" as const), packet: rawPacket }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("handshake" as const), auth: handshakeAuth }) },
      { weight: 1, arbitrary: fc.constant({ kind: "huge" as const }) },
    );

    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(message, async (m) => {
          runs++;
          if (m.kind === "handshake") {
            const probe = io(url(runs % 2), {
              path: "/socket.io",
              transports: ["websocket"],
              auth: m.auth,
              reconnection: false,
              forceNew: true,
            });
            const outcome = await new Promise<string>((resolve) => {
              const timer = setTimeout(() => resolve("no answer"), 10_000);
              probe.once("connect", () => resolve("connected"));
              probe.once("connect_error", (err) => {
                clearTimeout(timer);
                resolve(err.message);
              });
            });
            probe.close();
            // A token that is not a string falls back to the (absent) cookie.
            expect(["unauthorized", "rate_limited"], JSON.stringify(m.auth)).toContain(outcome);
          } else if (m.kind === "subscribe") {
            const s = socket?.connected ? socket : await fresh();
            const ack = await s
              .timeout(10_000)
              .emitWithAck("task:subscribe", m.payload as { taskId: string });
            expect(ack, JSON.stringify(m.payload)).toEqual({ ok: false, error: { code: "not_found" } });
          } else if (m.kind === "emit") {
            if (!RESERVED.includes(m.event)) {
              const s = socket?.connected ? socket : await fresh();
              (s.emit as (ev: string, ...args: unknown[]) => void)(m.event, ...m.args);
            }
          } else {
            const s = socket?.connected ? socket : await fresh();
            if (m.kind === "raw") (s.io.engine as unknown as { write(data: string): void }).write(m.packet);
            else
              (s.emit as (ev: string, ...args: unknown[]) => void)("task:subscribe", {
                taskId: "x".repeat(1_100_000),
              });
            // The server may drop this socket for it; the next message gets a new one.
            socket = null;
            setTimeout(() => s.close(), 100);
          }
          const sentinel = sentinels[runs % 2]!;
          expect(sentinel.connected).toBe(true);
          const ack = await sentinel.timeout(10_000).emitWithAck("task:subscribe", { taskId: ownTask });
          expect(ack).toMatchObject({ ok: true, snapshot: { taskId: ownTask } });
        }),
        settings(RUNS / 2),
      );
    } finally {
      (socket as TaskSocket | null)?.close();
      for (const s of sentinels) s.close();
    }
    await expectStillWhole();
  }, 300_000);

  it("never lets one user reach another's task, email or token by any id", async () => {
    for (const id of ownEmails) expect((await other.json("GET", `/api/emails/${id}`)).status).toBe(404);
    for (const id of [ownTask, ownTask.toUpperCase()]) {
      expect((await other.json("GET", `/api/emails/sync/status/${id}`)).status).toBe(404);
    }
    const list = await other.json(
      "GET",
      `/api/emails?limit=200&q=${encodeURIComponent("prop-owner@example.com")}`,
    );
    expect(list.body.emails).toEqual([]);
    // A cursor minted from the other user's list only pages the prober's own mail.
    const cursor = (await owner.json("GET", "/api/emails?limit=1")).body.nextCursor;
    const paged = await other.json("GET", `/api/emails?cursor=${cursor}`);
    expect(paged.status).toBe(200);
    for (const e of paged.body.emails) expect(otherEmails).toContain(e.id);
    await expectStillWhole();
  });
});
