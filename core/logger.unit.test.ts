import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactDeep } from "./logger";

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger("test", "trace", { destination: sink }), text: () => lines.join("") };
}

describe("log redaction by key, at any depth", () => {
  it("hides every secret-named value wherever it sits, in any spelling, and keeps the rest", () => {
    const { log, text } = capture();
    log.info(
      {
        token: "planted-top-token",
        userId: "u-1",
        request: { query: { code: "planted-oauth-code", state: "planted-oauth-state" } },
        google: {
          grant: { credentials: { refresh_token: "planted-refresh", accessToken: "planted-access" } },
        },
        deep: {
          a: {
            b: { c: { d: { Authorization: "Bearer planted-bearer", "Set-Cookie": ["sid=planted-cookie"] } } },
          },
        },
        clients: [{ client_secret: "planted-client-secret", name: "web" }],
        body: { password: "planted-password", "id-token": "planted-id-token" },
      },
      "planted",
    );
    const line = JSON.parse(text());
    expect(text()).not.toContain("planted-");
    expect(line).toMatchObject({
      token: "[redacted]",
      userId: "u-1",
      request: { query: { code: "[redacted]", state: "[redacted]" } },
      google: { grant: { credentials: { refresh_token: "[redacted]", accessToken: "[redacted]" } } },
      deep: { a: { b: { c: { d: { Authorization: "[redacted]", "Set-Cookie": "[redacted]" } } } } },
      clients: [{ client_secret: "[redacted]", name: "web" }],
      body: { password: "[redacted]", "id-token": "[redacted]" },
    });
  });

  it("keeps counts under a secret-looking name: purged tokens are a number, not a token", () => {
    const { log, text } = capture();
    log.info({ sessions: 2, tokens: 3, code: 404 }, "purged");
    expect(JSON.parse(text())).toMatchObject({ sessions: 2, tokens: 3, code: 404 });
  });

  it("redacts a child logger's bindings too", () => {
    const { log, text } = capture();
    log.child({ taskId: "t-1", auth: { accessToken: "planted-child-token" } }).info("child line");
    expect(text()).not.toContain("planted-child-token");
    expect(JSON.parse(text())).toMatchObject({ taskId: "t-1", auth: { accessToken: "[redacted]" } });
  });

  it("an error anywhere keeps its kind, message and status, never its request config", () => {
    const { log, text } = capture();
    const careless = () =>
      Object.assign(new Error("token exchange failed"), {
        code: 400,
        config: { headers: { "x-goog-api-key": "planted-key" }, data: "code=planted-code-in-body" },
      });
    log.error({ err: careless(), job: { attempt: 2, cause: careless() } }, "exchange");
    const line = JSON.parse(text());
    expect(text()).not.toContain("planted-key");
    expect(text()).not.toContain("planted-code-in-body");
    expect(line.err).toMatchObject({ type: "Error", message: "token exchange failed", code: 400 });
    expect(line.job.cause).toMatchObject({ type: "Error", message: "token exchange failed", code: 400 });
  });

  it("stops at cycles and at a depth bound instead of looping or printing what it did not check", () => {
    const loop: Record<string, unknown> = { name: "loop" };
    loop.self = loop;
    expect(redactDeep({ loop })).toEqual({ loop: { name: "loop", self: "[circular]" } });
    let nested: Record<string, unknown> = { refresh_token: "planted-too-deep" };
    for (let i = 0; i < 20; i++) nested = { inner: nested };
    expect(JSON.stringify(redactDeep(nested))).not.toContain("planted-too-deep");
    expect(JSON.stringify(redactDeep(nested))).toContain("[too deep]");
  });
});
