/**
 * Gmail push: users.watch / users.stop through the real googleapis client, and the Pub/Sub-shaped
 * pushes the simulator POSTs when mail changes, with a Google-style OIDC token that verifies
 * against the simulator's published keys (google-auth-library and a plain JWKS check).
 */
import { createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { OAuth2Client } from "google-auth-library";
import type { gmail_v1 } from "googleapis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_PUSH_SERVICE_ACCOUNT, GOOGLE_ISSUER, WATCH_LIFETIME_MS } from "./push";
import { createGmailSimulator, type GmailSimulator } from "./server";
import { control, failure, gmailFor, type Json } from "./testClient";

const ALICE = "alice@example.com";
const TOPIC = "projects/inbox-sync-test/topics/gmail";
const AUDIENCE = "https://inbox-sync.example/webhooks/gmail";

interface Received {
  headers: IncomingHttpHeaders;
  body: Json;
}

describe("gmail-sim push", () => {
  let sim: GmailSimulator;
  let gmail: gmail_v1.Gmail;
  let receiver: Server;
  let endpoint: string;
  let received: Received[] = [];
  let answerStatus = 204;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(answerStatus).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/gmail`;
    sim = createGmailSimulator({ accounts: [{ email: ALICE, count: 50 }], pushEndpoint: endpoint });
    await sim.listen(0, "127.0.0.1");
    gmail = await gmailFor(sim, ALICE);
  });
  afterAll(async () => {
    await sim.close();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(async () => {
    await gmail.users.stop({ userId: "me" });
    await control(sim, "PUT", "/push", { endpoint, audience: AUDIENCE });
    await control(sim, "DELETE", "/clock");
    await control(sim, "DELETE", "/stats");
    received = [];
    answerStatus = 204;
  });

  /** Waits until every push sent so far has been answered, then answers the recorded ones. */
  const pushes = async (): Promise<Json[]> => (await control(sim, "GET", "/stats?settled=1")).body.pushes;

  it("answers users.watch with the history id and an expiration seven days ahead of Gmail's clock", async () => {
    await control(sim, "PUT", "/clock", { now: "2026-03-01T12:00:00.000Z" });
    const profile = await gmail.users.getProfile({ userId: "me" });
    const { data, status } = await gmail.users.watch({
      userId: "me",
      requestBody: { topicName: TOPIC, labelIds: ["INBOX"], labelFilterBehavior: "include" },
    });
    expect(status).toBe(200);
    expect(data.historyId).toBe(profile.data.historyId);
    const expected = Date.parse("2026-03-01T12:00:00.000Z") + WATCH_LIFETIME_MS;
    expect(Math.abs(Number(data.expiration) - expected)).toBeLessThan(60_000);
    expect(typeof data.expiration).toBe("string");
    const stored = await control(sim, "GET", `/accounts/${ALICE}/watch`);
    expect(stored.body).toEqual({
      topicName: TOPIC,
      labelIds: ["INBOX"],
      labelFilterBehavior: "include",
      historyId: data.historyId,
      expiration: data.expiration,
    });

    const stop = await gmail.users.stop({ userId: "me" });
    expect(stop.status).toBe(204);
    expect((await control(sim, "GET", `/accounts/${ALICE}/watch`)).status).toBe(404);

    const bad = await failure(gmail.users.watch({ userId: "me", requestBody: { topicName: "my-topic" } }));
    expect(bad.status).toBe(400);
    expect(bad.data.error.status).toBe("INVALID_ARGUMENT");
    const stats = (await control(sim, "GET", "/stats")).body;
    expect(stats.calls).toMatchObject({ "users.watch": 2, "users.stop": 1 });
  });

  it("POSTs a Pub/Sub push signed by a key of the served JWKS when a message is added", async () => {
    await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC } });
    const added = await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1 });
    const recorded = await pushes();
    expect(recorded).toEqual([
      expect.objectContaining({
        email: ALICE,
        historyId: Number(added.body.historyId),
        status: 204,
        endpoint,
      }),
    ]);
    expect(received).toHaveLength(1);
    const { headers, body } = received[0]!;
    expect(headers["content-type"]).toBe("application/json");
    expect(body).toEqual({
      message: {
        data: expect.any(String),
        messageId: recorded[0].messageId,
        message_id: recorded[0].messageId,
        publishTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        publish_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      subscription: expect.stringMatching(/^projects\/[^/]+\/subscriptions\/[^/]+$/),
    });
    expect(JSON.parse(Buffer.from(body.message.data, "base64").toString())).toEqual({
      emailAddress: ALICE,
      historyId: Number(added.body.historyId),
    });

    const token = /^Bearer (.+)$/.exec(headers.authorization!)![1]!;
    const pems = (await (await fetch(`${sim.url}/oauth2/v1/certs`)).json()) as Record<string, string>;
    const ticket = await new OAuth2Client().verifySignedJwtWithCertsAsync(token, pems, AUDIENCE, [
      GOOGLE_ISSUER,
    ]);
    expect(ticket.getPayload()).toMatchObject({
      iss: GOOGLE_ISSUER,
      aud: AUDIENCE,
      email: DEFAULT_PUSH_SERVICE_ACCOUNT,
      email_verified: true,
    });
    await expect(
      new OAuth2Client().verifySignedJwtWithCertsAsync(token, pems, "https://someone-else.example/", [
        GOOGLE_ISSUER,
      ]),
    ).rejects.toThrow(/audience/i);

    const [headerPart, payloadPart, signature] = token.split(".") as [string, string, string];
    const { kid, alg } = JSON.parse(Buffer.from(headerPart, "base64url").toString());
    expect(alg).toBe("RS256");
    const jwks = (await (await fetch(`${sim.url}/oauth2/v3/certs`)).json()) as { keys: Json[] };
    const jwk = jwks.keys.find((k) => k.kid === kid);
    expect(jwk).toBeDefined();
    const key = createPublicKey({ key: jwk, format: "jwk" });
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    expect(verify("RSA-SHA256", signed, key, Buffer.from(signature, "base64url"))).toBe(true);
    const forged = Buffer.from(`${headerPart}.${Buffer.from('{"aud":"x"}').toString("base64url")}`);
    expect(verify("RSA-SHA256", forged, key, Buffer.from(signature, "base64url"))).toBe(false);
  });

  it("uses the endpoint as the audience when none is configured, and pushes deletions and relabelling", async () => {
    await control(sim, "PUT", "/push", { endpoint, audience: null });
    await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC } });
    const newest = (await control(sim, "GET", `/accounts/${ALICE}/messages?limit=2`)).body.messages;
    await control(sim, "POST", `/accounts/${ALICE}/messages/${newest[0].id}/labels`, { add: ["STARRED"] });
    const afterLabel = (await control(sim, "GET", `/accounts/${ALICE}`)).body.historyId;
    await control(sim, "DELETE", `/accounts/${ALICE}/messages/${newest[1].id}`);
    const afterDelete = (await control(sim, "GET", `/accounts/${ALICE}`)).body.historyId;
    // A label change that changes nothing makes no history and no push.
    await control(sim, "POST", `/accounts/${ALICE}/messages/${newest[0].id}/labels`, { add: ["STARRED"] });
    expect((await pushes()).map((p) => String(p.historyId))).toEqual([afterLabel, afterDelete]);
    const token = /^Bearer (.+)$/.exec(received[0]!.headers.authorization!)![1]!;
    const pems = (await (await fetch(`${sim.url}/oauth2/v1/certs`)).json()) as Record<string, string>;
    const ticket = await new OAuth2Client().verifySignedJwtWithCertsAsync(token, pems, endpoint, [
      GOOGLE_ISSUER,
    ]);
    expect(ticket.getPayload()!.aud).toBe(endpoint);
  });

  it("pushes only changes that pass the watch's label filter, and nothing without a watch", async () => {
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1 });
    expect(await pushes()).toEqual([]);

    await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC, labelIds: ["INBOX"] } });
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1, labelIds: ["Label_2"] });
    expect(await pushes()).toEqual([]);
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1, labelIds: ["INBOX", "UNREAD"] });
    expect(await pushes()).toHaveLength(1);

    await gmail.users.watch({
      userId: "me",
      requestBody: { topicName: TOPIC, labelIds: ["SPAM"], labelFilterBehavior: "exclude" },
    });
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1, labelIds: ["SPAM"] });
    expect(await pushes()).toHaveLength(1);
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1, labelIds: ["INBOX"] });
    expect(await pushes()).toHaveLength(2);
  });

  it("lets a test bring a watch to the edge of lapsing; a lapsed watch pushes nothing until renewed", async () => {
    const first = await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC } });
    const edge = await control(sim, "PUT", `/accounts/${ALICE}/watch`, { expiresInMs: 60_000 });
    expect(Number(edge.body.expiration)).toBeLessThan(Number(first.data.expiration));
    await control(sim, "PUT", "/clock", { offsetMs: 120_000 });
    expect((await control(sim, "GET", `/accounts/${ALICE}/watch`)).status).toBe(404);
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1 });
    expect(await pushes()).toEqual([]);

    const renewed = await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC } });
    const clock = (await control(sim, "GET", "/clock")).body;
    expect(clock.offsetMs).toBe(120_000);
    expect(Number(renewed.data.expiration)).toBeGreaterThanOrEqual(
      Date.parse(clock.now) + WATCH_LIFETIME_MS - 1000,
    );
    await control(sim, "POST", `/accounts/${ALICE}/messages`, { count: 1 });
    expect(await pushes()).toHaveLength(1);
  });

  it("answers an expiration a minute from real time when Gmail's clock is set back by 7 days less a minute", async () => {
    await control(sim, "PUT", "/clock", { offsetMs: -(WATCH_LIFETIME_MS - 60_000) });
    const before = Date.now();
    const { data } = await gmail.users.watch({ userId: "me", requestBody: { topicName: TOPIC } });
    expect(Number(data.expiration)).toBeGreaterThanOrEqual(before + 60_000 - 1000);
    expect(Number(data.expiration)).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
  });

  it("sends a burst of notifications on demand and records the endpoint's answers", async () => {
    answerStatus = 500;
    const burst = await control(sim, "POST", `/accounts/${ALICE}/push`, { count: 50 });
    expect(burst.body.sent).toHaveLength(50);
    const recorded = await pushes();
    expect(recorded).toHaveLength(50);
    expect(new Set(recorded.map((p) => p.messageId)).size).toBe(50);
    expect(recorded.every((p) => p.status === 500)).toBe(true);
    expect(received).toHaveLength(50);

    await control(sim, "DELETE", "/push");
    await control(sim, "POST", `/accounts/${ALICE}/push`, { count: 1 });
    const undelivered = (await pushes()).at(-1);
    expect(undelivered).toMatchObject({ status: 0, endpoint: null, error: "no push endpoint configured" });
    const badSettings = await control(sim, "PUT", "/push", { endpoint: "ftp://nope" });
    expect(badSettings.status).toBe(400);
  });
});
