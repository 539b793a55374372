import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Nginx, startNginx } from "../test/nginx";
import type { TaskSocket } from "../test/socketClient";
import { type Stack, startStack } from "../test/stack";

/**
 * The client's address behind real proxies: two Debian nginx processes in front of two web nodes.
 * The inner one runs deploy/nginx.conf as shipped, with only its upstream servers and listen port
 * changed; the front one stands in for a TLS terminator and appends to X-Forwarded-For as they do.
 * Clients come from different loopback addresses (all of 127/8 is on lo).
 */

const SHIPPED = path.resolve(import.meta.dirname, "..", "deploy", "nginx.conf");
const UPSTREAM_LINE = "server web:3000 max_fails=3 fail_timeout=5s;";

/** deploy/nginx.conf with its upstream servers pointed at `nodes` and its listen port at `port`. */
function shippedConfig(port: number, nodes: number[]): string {
  const text = readFileSync(SHIPPED, "utf8");
  // The file must keep the shape this test substitutes, or the test would run something else.
  expect(text.split(UPSTREAM_LINE).length - 1, "upstream server lines in deploy/nginx.conf").toBe(2);
  expect(text.split("listen 80;").length - 1, "listen lines in deploy/nginx.conf").toBe(1);
  const servers = nodes.map((p) => `server 127.0.0.1:${p} max_fails=3 fail_timeout=5s;`).join("\n  ");
  return text.replaceAll(UPSTREAM_LINE, servers).replace("listen 80;", `listen 127.0.0.1:${port};`);
}

/** A TLS terminator's usual settings, minus the TLS: it appends the address it saw. */
const terminatorConfig = (port: number, inner: number) => `
map $http_upgrade $front_connection { default upgrade; "" close; }
server {
  listen 127.0.0.1:${port};
  location / {
    proxy_pass http://127.0.0.1:${inner};
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto https;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $front_connection;
    proxy_buffering off;
  }
}
`;

/** One GET from a chosen source address, redirects not followed. */
function get(url: string, from: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, { localAddress: from, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A Socket.IO connection attempt from a chosen source address: "connected" or the connect_error. */
function socketFrom(url: string, from: string, token: string): Promise<string> {
  const socket = io(url, {
    path: "/socket.io",
    transports: ["websocket"],
    localAddress: from,
    auth: { token },
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  } as Parameters<typeof io>[1]);
  return new Promise<string>((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", (err) => resolve(err.message));
  }).finally(() => socket.close());
}

let stack: Stack;
let inner: Nginx;
let front: Nginx;
let token: string;
/** Requests each web node served, by path prefix. */
const served: Array<{ socketio: number; other: number }> = [];
/** The forwarding headers of the last /healthz request a web node received. */
let forwarded: { for?: string; proto?: string } = {};

beforeAll(async () => {
  // The shipped defaults of the two limits an anonymous caller could spend for everyone.
  stack = await startStack({
    webs: 2,
    workers: 0,
    env: { RATE_LIMIT_BAD_TOKEN: "10/60", RATE_LIMIT_SIGN_IN: "30/60" },
  });
  for (const web of stack.webs) {
    const count = { socketio: 0, other: 0 };
    served.push(count);
    web.server.on("request", (req: http.IncomingMessage) => {
      if (req.url === "/healthz") {
        forwarded = {
          for: req.headers["x-forwarded-for"] as string | undefined,
          proto: req.headers["x-forwarded-proto"] as string | undefined,
        };
      }
      if (req.url?.startsWith("/socket.io/")) count.socketio++;
      else count.other++;
    });
  }
  const nodes = stack.webs.map((w) => Number(new URL(w.url).port));
  inner = await startNginx((port) => shippedConfig(port, nodes));
  front = await startNginx((port) => terminatorConfig(port, inner.port));
  await stack.control.resetAccount("proxied@example.com", 1);
  const owner = await stack.signIn("proxied@example.com");
  const created = await owner.json("POST", "/api/tokens", { name: "script" });
  expect(created.status).toBe(201);
  token = created.body.token;
}, 60_000);

afterAll(async () => {
  await front?.close();
  await inner?.close();
  await stack?.close();
});

const layouts = [
  { layout: "one hop (nginx → web)", entry: () => inner.url, net: 10, scheme: "http" },
  { layout: "two hops (TLS terminator → nginx → web)", entry: () => front.url, net: 20, scheme: "https" },
];

describe.each(layouts)("client addresses, $layout", ({ entry, net, scheme }) => {
  /** A distinct loopback source address per layout and role, so no test spends another's points. */
  const addr = (n: number) => `127.0.${net}.${n}`;
  const me = (from: string, bearer: string) =>
    get(`${entry()}/api/me`, from, { authorization: `Bearer ${bearer}` });

  it("the web node is told the client's address alone and the scheme the client used", async () => {
    expect((await get(`${entry()}/healthz`, addr(8))).status).toBe(200);
    expect(forwarded).toEqual({ for: addr(8), proto: scheme });
    // A scheme that is neither http nor https is nobody's word: nginx's own goes on instead.
    expect((await get(`${entry()}/healthz`, addr(8), { "x-forwarded-proto": "gopher" })).status).toBe(200);
    expect(forwarded).toEqual({ for: addr(8), proto: scheme });
  });

  it("10 bad bearer tokens from one address refuse that address only, not another's good token", async () => {
    const [scanner, script] = [addr(2), addr(3)];
    for (let i = 0; i < 10; i++) expect((await me(scanner, `isk_wrong${i}`)).status).toBe(401);
    expect((await me(scanner, "isk_wrong10")).status).toBe(429);
    // The scanner's own good token is refused too: the limit is counted on its address.
    expect((await me(scanner, token)).status).toBe(429);
    expect((await me(script, token)).status).toBe(200);
    expect((await me(script, "isk_typo")).status).toBe(401);
  });

  it("bad socket tokens from one address refuse that address's sockets only", async () => {
    const [scanner, script] = [addr(4), addr(5)];
    for (let i = 0; i < 10; i++) {
      expect(await socketFrom(entry(), scanner, `isk_wrong${i}`)).toBe("unauthorized");
    }
    expect(await socketFrom(entry(), scanner, token)).toBe("rate_limited");
    // HTTP and sockets read one address by one rule: the socket failures spent the HTTP allowance.
    expect((await me(scanner, token)).status).toBe(429);
    expect(await socketFrom(entry(), script, token)).toBe("connected");
    expect((await me(script, token)).status).toBe(200);
  });

  it("30 sign-ins from one address do not block another address", async () => {
    const [flood, person] = [addr(6), addr(7)];
    const signIn = (from: string) => get(`${entry()}/auth/google?login_hint=x%40example.com`, from);
    for (let i = 0; i < 30; i++) expect((await signIn(flood)).status).toBe(302);
    expect((await signIn(flood)).status).toBe(429);
    expect((await signIn(person)).status).toBe(302);
  });
});

describe("balancing behind both proxies", () => {
  it("spreads one client's ordinary requests over both web nodes", async () => {
    const before = served.map((s) => s.other);
    for (let i = 0; i < 6; i++) expect((await get(`${front.url}/healthz`, "127.0.30.1")).status).toBe(200);
    const added = served.map((s, i) => s.other - before[i]!);
    expect(added.reduce((a, b) => a + b)).toBe(6);
    expect(
      added.every((n) => n > 0),
      `requests per node ${added}`,
    ).toBe(true);
  });

  it("keeps a Socket.IO long-polling session on one node, round trips and all", async () => {
    const before = served.map((s) => s.socketio);
    const socket: TaskSocket = io(front.url, {
      path: "/socket.io",
      transports: ["polling"],
      upgrade: false,
      auth: { token },
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      for (let i = 0; i < 3; i++) {
        const answer = await socket.timeout(10_000).emitWithAck("task:subscribe", { taskId: randomUUID() });
        expect(answer.ok).toBe(false);
      }
    } finally {
      socket.close();
    }
    const added = served.map((s, i) => s.socketio - before[i]!);
    // Handshake, connect, polls and each ack: every one reached the node that holds the session.
    expect(Math.max(...added)).toBeGreaterThanOrEqual(5);
    expect(Math.min(...added), `long-polling requests per node ${added}`).toBe(0);
  });
});
