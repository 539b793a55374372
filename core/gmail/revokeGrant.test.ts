import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevokeFailedError, revokeGrant } from "./revokeGrant";

/** A stand-in revocation endpoint answering a scripted series of statuses, recording each request. */
describe("revokeGrant", () => {
  let server: Server;
  let url: string;
  let script: number[] = [];
  const seen: Array<{ method: string; query: string; type: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen.push({
        method: req.method ?? "",
        query: new URL(req.url ?? "/", "http://x").search,
        type: req.headers["content-type"] ?? "",
        body,
      });
      const status = script.shift() ?? 200;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(
        status === 200 ? "{}" : JSON.stringify({ error: status === 400 ? "invalid_token" : "backend" }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const reset = (statuses: number[]) => {
    script = statuses;
    seen.length = 0;
  };

  it("posts the refresh token in a form body, never in the URL", async () => {
    reset([200]);
    const outcome = await revokeGrant(url, { refresh_token: "1//refresh", access_token: "ya29.access" });
    expect(outcome).toBe("revoked");
    expect(seen).toEqual([
      { method: "POST", query: "", type: "application/x-www-form-urlencoded", body: "token=1%2F%2Frefresh" },
    ]);
  });

  it("uses the access token when no refresh token is held, and does nothing when neither is", async () => {
    reset([200]);
    expect(await revokeGrant(url, { access_token: "ya29.only" })).toBe("revoked");
    expect(seen.map((s) => s.body)).toEqual(["token=ya29.only"]);
    reset([]);
    expect(await revokeGrant(url, {})).toBe("nothing_held");
    expect(await revokeGrant(url, null)).toBe("nothing_held");
    expect(seen).toEqual([]);
  });

  it("takes Google's 400 (already revoked or expired) as the grant being gone", async () => {
    reset([400]);
    expect(await revokeGrant(url, { refresh_token: "r" })).toBe("already_gone");
    expect(seen).toHaveLength(1);
  });

  it("retries 5xx and 429, then succeeds", async () => {
    reset([503, 429, 200]);
    expect(await revokeGrant(url, { refresh_token: "r" })).toBe("revoked");
    expect(seen).toHaveLength(3);
  });

  it("gives up with revoke_failed (502) when Google keeps failing or cannot be reached", async () => {
    reset([500, 500, 500]);
    const err = await revokeGrant(url, { refresh_token: "r" }).catch((e) => e);
    expect(err).toBeInstanceOf(RevokeFailedError);
    expect(err).toMatchObject({ code: "revoke_failed", status: 502 });
    expect(seen).toHaveLength(3);

    const closed = await revokeGrant(
      "http://127.0.0.1:9/revoke",
      { refresh_token: "r" },
      { attempts: 2 },
    ).catch((e) => e);
    expect(closed).toBeInstanceOf(RevokeFailedError);
  });
});
