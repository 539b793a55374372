import type { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseParts } from "./batch";
import { createGmailSimulator, type GmailSimulator } from "./server";
import { control, gmailFor, listAll } from "./testClient";

/** A batch body as Google's guide writes it: one application/http part per call. */
function batchBody(boundary: string, paths: string[]): string {
  return `${paths
    .map(
      (p, i) =>
        `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item${i + 1}>\r\n\r\nGET ${p}\r\n\r\n`,
    )
    .join("")}--${boundary}--\r\n`;
}

describe("POST /batch/gmail/v1 (Google's multipart batch)", () => {
  let sim: GmailSimulator;
  let token: string;
  let ids: string[];
  const email = "batch@example.com";

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email, count: 150 }] });
    await sim.listen(0, "127.0.0.1");
    const gmail = await gmailFor(sim, email);
    ids = await listAll(gmail, {});
    const auth = (gmail as unknown as { context: { _options: { auth: OAuth2Client } } }).context._options
      .auth;
    token = (await auth.getAccessToken()).token!;
  });
  afterAll(async () => {
    await sim?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${sim.url}/batch/gmail/v1`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "multipart/mixed; boundary=batch_foobarbaz",
        ...headers,
      },
      body,
    });

  it("answers each part with the same message a single messages.get gives, in order, under response-<Content-ID>, and counts each as a call", async () => {
    await control(sim, "DELETE", "/stats");
    const wanted = ids.slice(0, 3);
    const res = await post(
      batchBody(
        "batch_foobarbaz",
        wanted.map((id) => `/gmail/v1/users/me/messages/${id}?format=full`),
      ),
    );
    expect(res.status).toBe(200);
    const type = res.headers.get("content-type")!;
    expect(type).toMatch(/^multipart\/mixed; boundary=/);
    const text = await res.text();
    const boundary = type.split("boundary=")[1]!;
    const parts = text.split(`--${boundary}`).slice(1, -1);
    expect(parts).toHaveLength(3);
    for (const [i, part] of parts.entries()) {
      expect(part).toContain("Content-Type: application/http");
      expect(part).toContain(`Content-ID: <response-item${i + 1}>`);
      expect(part).toContain("HTTP/1.1 200 OK");
      const json = JSON.parse(part.slice(part.indexOf("{"), part.lastIndexOf("}") + 1));
      const single = await fetch(`${sim.url}/gmail/v1/users/me/messages/${wanted[i]}?format=full`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.json());
      expect(json).toEqual(single);
    }
    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.calls["messages.get"]).toBe(6);
    // One HTTP request to the batch endpoint; its parts are counted as the calls they are.
    expect(stats.batches).toBe(1);
  });

  it("a part for a missing message answers 404 inside a 200 batch; a part without credentials of its own uses the outer ones", async () => {
    const res = await post(
      batchBody("batch_foobarbaz", [
        `/gmail/v1/users/me/messages/${ids[0]}`,
        "/gmail/v1/users/me/messages/ffffffffffffffff",
      ]),
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("HTTP/1.1 200 OK");
    expect(text).toContain("HTTP/1.1 404 Not Found");
  });

  it("spends quota per part: with 250 units/s, a batch of 100 gets (500 units) has the parts beyond the bucket refused with 429", async () => {
    await control(sim, "PUT", "/quota", { userUnitsPerSecond: 250 });
    try {
      const res = await post(
        batchBody(
          "batch_foobarbaz",
          ids.slice(0, 100).map((id) => `/gmail/v1/users/me/messages/${id}`),
        ),
      );
      const text = await res.text();
      expect(res.status).toBe(200);
      const ok = text.split("HTTP/1.1 200 OK").length - 1;
      const refused = text.split("HTTP/1.1 429").length - 1;
      expect(ok + refused).toBe(100);
      // The bucket holds 250 units (50 gets) and refills while the parts are served.
      expect(ok).toBeGreaterThanOrEqual(50);
      expect(refused).toBeGreaterThan(0);
    } finally {
      await control(sim, "DELETE", "/quota");
    }
  });

  it("refuses more than 100 parts, a body that is not multipart, and unauthenticated parts", async () => {
    const many = await post(
      batchBody(
        "batch_foobarbaz",
        ids.slice(0, 101).map((id) => `/gmail/v1/users/me/messages/${id}`),
      ),
    );
    expect(many.status).toBe(400);
    const plain = await post("{}", { "content-type": "application/json" });
    expect(plain.status).toBe(400);
    const anon = await fetch(`${sim.url}/batch/gmail/v1`, {
      method: "POST",
      headers: { "content-type": "multipart/mixed; boundary=b" },
      body: batchBody("b", [`/gmail/v1/users/me/messages/${ids[0]}`]),
    });
    expect(anon.status).toBe(200);
    expect(await anon.text()).toContain("HTTP/1.1 401");
  });

  it("reads parts that name the full URL and carry a body, and skips the preamble and epilogue", () => {
    const parts = parseParts(
      'preamble\r\n--b\r\nContent-Type: application/http\r\n\r\nPOST https://gmail.googleapis.com/gmail/v1/users/me/watch HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"topicName":"t"}\r\n--b--\r\nepilogue',
      "b",
    );
    expect(parts).toEqual([
      {
        method: "POST",
        path: "/gmail/v1/users/me/watch",
        headers: { "content-type": "application/json" },
        body: '{"topicName":"t"}',
        contentId: null,
      },
    ]);
  });
});
