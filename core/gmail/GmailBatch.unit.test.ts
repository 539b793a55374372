import type { OAuth2Client } from "google-auth-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseParts } from "../../gmail-sim/batch";
import { classifyGmailError, parseRetryAfter } from "../sync/gmailCall";
import { BatchRefusedError } from "./batchFallback";
import { decodeBatch, encodeBatch, GmailBatch, GmailHttpError } from "./GmailBatch";

const auth = {
  credentials: { access_token: "at", expiry_date: Date.now() + 3_600_000 },
  getRequestHeaders: async () => new Headers({ authorization: "Bearer at" }),
} as unknown as OAuth2Client;

/** An `application/http` answer part as Google writes one. */
const part = (boundary: string, contentId: string | null, status: string, body: string, headers = "") =>
  `--${boundary}\r\nContent-Type: application/http\r\n${contentId ? `Content-ID: <${contentId}>\r\n` : ""}\r\nHTTP/1.1 ${status}\r\nContent-Type: application/json; charset=UTF-8\r\n${headers}\r\n${body}\r\n`;

function answer(boundary: string, parts: string[]) {
  return new Response(`${parts.join("")}--${boundary}--\r\n`, {
    status: 200,
    headers: { "content-type": `multipart/mixed; boundary=${boundary}` },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("GmailBatch's multipart codec", () => {
  it("encodes GETs as Google's guide shows them, which the simulator's parser reads back", () => {
    const body = encodeBatch("batch_x", ["/gmail/v1/users/me/messages/a?format=full", "/p/b"]);
    const parts = parseParts(body, "batch_x");
    expect(parts).toEqual([
      {
        method: "GET",
        path: "/gmail/v1/users/me/messages/a?format=full",
        headers: {},
        body: "",
        contentId: "item0",
      },
      { method: "GET", path: "/p/b", headers: {}, body: "", contentId: "item1" },
    ]);
  });

  it("decodes answers by Content-ID whatever their order, with each part's status, headers and body", () => {
    const text = `preamble\r\n${part("b1", "response-item1", "429 Too Many Requests", '{"error":{"code":429}}', "Retry-After: 7\r\n")}${part("b1", "response-item0", "200 OK", '{"id":"a"}')}--b1--\r\nepilogue`;
    const { all, byId } = decodeBatch(text, "b1");
    expect(all).toHaveLength(2);
    expect(byId.get("item0")).toMatchObject({ status: 200, body: '{"id":"a"}' });
    expect(byId.get("item1")!.status).toBe(429);
    expect(byId.get("item1")!.headers.get("retry-after")).toBe("7");
  });

  it("reads bare-LF answers and parts without Content-ID in order", () => {
    const text = [
      "--b2",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 200 OK",
      "Content-Type: application/json",
      "",
      '{"id":"x"}',
      "--b2",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 404 Not Found",
      "",
      '{"error":{"code":404}}',
      "--b2--",
      "",
    ].join("\n");
    const { all, byId } = decodeBatch(text, "b2");
    expect(byId.size).toBe(0);
    expect(all.map((p) => [p.status, p.body])).toEqual([
      [200, '{"id":"x"}'],
      [404, '{"error":{"code":404}}'],
    ]);
  });
});

describe("GmailBatch against a stubbed fetch", () => {
  it("posts to <root>batch/gmail/v1 under the configured root, path included, with the client's credentials", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return answer("r", [
        part("r", "response-item0", "200 OK", '{"id":"a/1"}'),
        part("r", "response-item1", "200 OK", '{"id":"b"}'),
      ]);
    });
    const batch = new GmailBatch(auth, "https://proxy.example/google", 50);
    expect(batch.url).toBe("https://proxy.example/google/batch/gmail/v1");
    const out = await batch.fetch(["a/1", "b"]);
    expect(out).toEqual([
      { ok: true, message: { id: "a/1" } },
      { ok: true, message: { id: "b" } },
    ]);
    expect(seen[0]!.url).toBe("https://proxy.example/google/batch/gmail/v1");
    const headers = new Headers(seen[0]!.init.headers);
    expect(headers.get("authorization")).toBe("Bearer at");
    const boundary = headers.get("content-type")!.split("boundary=")[1]!;
    expect(
      parseParts(String(seen[0]!.init.body), boundary).map((p) => !(p instanceof Error) && p.path),
    ).toEqual([
      "/google/gmail/v1/users/me/messages/a%2F1?format=full",
      "/google/gmail/v1/users/me/messages/b?format=full",
    ]);
  });

  it("carries whole threads beside single messages: a threads.get part answers every message of its thread", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      if (init.method === "GET")
        return new Response('{"id":"t2","messages":[{"id":"c"}]}', {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      return answer("r", [
        part("r", "response-item0", "200 OK", '{"id":"a"}'),
        part("r", "response-item1", "200 OK", '{"id":"t1","messages":[{"id":"m1"},{"id":"m2"}]}'),
        part("r", "response-item2", "404 Not Found", '{"error":{"code":404}}'),
      ]);
    });
    const batch = new GmailBatch(auth, "https://gmail.example/", 50);
    const out = await batch.fetchParts([
      { method: "messages.get", id: "a" },
      { method: "threads.get", id: "t1" },
      { method: "threads.get", id: "gone" },
    ]);
    expect(out.slice(0, 2)).toEqual([
      { ok: true, messages: [{ id: "a" }] },
      { ok: true, messages: [{ id: "m1" }, { id: "m2" }] },
    ]);
    expect(out[2]!.ok === false && classifyGmailError(out[2]!.error)).toBe("not_found");
    const boundary = new Headers(seen[0]!.init.headers).get("content-type")!.split("boundary=")[1]!;
    expect(
      parseParts(String(seen[0]!.init.body), boundary).map((p) => !(p instanceof Error) && p.path),
    ).toEqual([
      "/gmail/v1/users/me/messages/a?format=full",
      "/gmail/v1/users/me/threads/t1?format=full",
      "/gmail/v1/users/me/threads/gone?format=full",
    ]);
    // One thread alone needs no envelope: a plain threads.get.
    expect(await batch.fetchParts([{ method: "threads.get", id: "t2" }])).toEqual([
      { ok: true, messages: [{ id: "c" }] },
    ]);
    expect(seen[1]!.url).toBe("https://gmail.example/gmail/v1/users/me/threads/t2?format=full");
  });

  it("a failed part becomes an error the retry rules read as a single call's: status, reason, Retry-After", async () => {
    vi.stubGlobal("fetch", async () =>
      answer("r", [
        part(
          "r",
          "response-item0",
          "403 Forbidden",
          '{"error":{"code":403,"errors":[{"reason":"rateLimitExceeded"}]}}',
          "Retry-After: 3\r\n",
        ),
        part("r", "response-item1", "404 Not Found", '{"error":{"code":404}}'),
        part("r", "response-item2", "401 Unauthorized", '{"error":{"code":401}}'),
      ]),
    );
    const out = await new GmailBatch(auth, "https://gmail.example/", 50).fetch(["a", "b", "c"]);
    const errors = out.map((o) => (o.ok ? null : o.error));
    expect(errors.every((e) => e instanceof GmailHttpError)).toBe(true);
    expect(errors.map((e) => classifyGmailError(e))).toEqual(["retry", "not_found", "reauth"]);
    const first = errors[0] as GmailHttpError;
    expect(parseRetryAfter(first.response.headers.get("retry-after"))).toBe(3_000);
  });

  it("a batch refused as a whole rejects with its status (retried whole); a missing part or an unreadable answer is a 502", async () => {
    vi.stubGlobal(
      "fetch",
      async () =>
        new Response('{"error":{"code":503}}', {
          status: 503,
          headers: { "content-type": "application/json", "retry-after": "2" },
        }),
    );
    const batch = new GmailBatch(auth, "https://gmail.example/", 50);
    const whole = await batch.fetch(["a", "b"]).catch((e: unknown) => e);
    expect(classifyGmailError(whole)).toBe("retry");
    expect((whole as GmailHttpError).status).toBe(503);

    vi.stubGlobal("fetch", async () => answer("r", [part("r", "response-item0", "200 OK", '{"id":"a"}')]));
    const short = await batch.fetch(["a", "b"]);
    expect(short[0]).toEqual({ ok: true, message: { id: "a" } });
    expect(short[1]!.ok).toBe(false);
    expect(classifyGmailError((short[1] as { error: unknown }).error)).toBe("retry");

    vi.stubGlobal("fetch", async () => new Response("<html>oops</html>", { status: 200 }));
    expect(classifyGmailError(await batch.fetch(["a", "b"]).catch((e: unknown) => e))).toBe("retry");
  });

  it("the batch endpoint answering 404 is not a message gone: it rejects as a refused batch, never skips its messages", async () => {
    vi.stubGlobal("fetch", async () => new Response("Not Found", { status: 404 }));
    const err = await new GmailBatch(auth, "https://gmail.example/", 50)
      .fetch(["a", "b"])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchRefusedError);
    expect((err as BatchRefusedError).httpStatus).toBe(404);
    expect(classifyGmailError(err)).toBe("fatal");
  });

  it("one id goes as a plain messages.get; a cut connection is retried as a network fault", async () => {
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response('{"id":"a"}', { status: 200, headers: { "content-type": "application/json" } });
    });
    const batch = new GmailBatch(auth, "https://gmail.example/", 50);
    expect(await batch.fetch(["a"])).toEqual([{ ok: true, message: { id: "a" } }]);
    expect(urls).toEqual(["https://gmail.example/gmail/v1/users/me/messages/a?format=full"]);

    vi.stubGlobal("fetch", async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      });
    });
    expect(classifyGmailError(await batch.fetch(["a", "b"]).catch((e: unknown) => e))).toBe("retry");
  });

  it("refuses more ids than its size, and a size Google does not allow", async () => {
    expect(() => new GmailBatch(auth, "https://gmail.example/", 101)).toThrow(RangeError);
    await expect(new GmailBatch(auth, "https://gmail.example/", 2).fetch(["a", "b", "c"])).rejects.toThrow(
      RangeError,
    );
  });
});
