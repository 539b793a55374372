import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../gmail-sim/server";
import { gmailClientFor } from "../test/simGmail";
import { createLogger } from "./logger";

describe("logs never carry OAuth tokens", () => {
  let sim: GmailSimulator;
  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "logs@example.com", count: 3 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  it("logs a real googleapis error by kind, message and status only", async () => {
    const gmail = await gmailClientFor(sim.url, "logs@example.com");
    const credentials = (
      gmail.context._options.auth as { credentials: { access_token: string; refresh_token: string } }
    ).credentials;
    expect(credentials.access_token.length).toBeGreaterThan(10);
    const error = await gmail.users.messages
      .get({ userId: "me", id: "0000000000000000" })
      .catch((e: unknown) => e);
    // gaxios redacts its own errors today; an HTTP client that does not (or a future version)
    // would hand us something like this, and it must not be written either.
    const careless = Object.assign(new Error("token refresh failed"), {
      code: 400,
      config: { headers: { Authorization: `Bearer ${credentials.access_token}` } },
      response: { status: 400, data: { refresh_token: credentials.refresh_token } },
    });

    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger("test", "trace", { destination: sink });
    log.error({ err: error }, "sync failed");
    log.error({ err: careless }, "refresh failed");
    log.warn(
      { error, tokens: credentials, user: { refresh_token: credentials.refresh_token } },
      "other shapes",
    );
    const text = lines.join("");
    expect(text).toContain('"status":404');
    expect(text).toContain("Requested entity was not found.");
    expect(text).toContain("token refresh failed");
    expect(text).not.toContain(credentials.access_token);
    expect(text).not.toContain(credentials.refresh_token);
  });
});
