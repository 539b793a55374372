/**
 * The Socket.IO origin check: a handshake's Origin must be exactly PUBLIC_URL's origin. Each web
 * node of the test stack is reached at its own address, so each has that address as PUBLIC_URL
 * (test/stack.ts); a node behind a proxy has the proxy's address instead.
 */
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../test/ApiClient";
import { connectSocket, refusal } from "../test/socketClient";
import { type Stack, startStack } from "../test/stack";
import { originAllowed } from "./realtime";
import { startWebServer, type WebServer } from "./WebServer";

describe("originAllowed", () => {
  const publicUrl = "https://inbox.example.com";

  it("allows PUBLIC_URL's own origin, however it is spelled", () => {
    for (const origin of [
      "https://inbox.example.com",
      "HTTPS://Inbox.Example.com",
      "https://inbox.example.com:443",
    ]) {
      expect(originAllowed(origin, publicUrl), origin).toBe(true);
    }
    expect(originAllowed("http://127.0.0.1:3000", "http://127.0.0.1:3000/")).toBe(true);
  });

  it("refuses every other scheme, host, port and the opaque origin", () => {
    for (const origin of [
      "http://inbox.example.com",
      "https://inbox.example.com:8443",
      "https://evil.inbox.example.com",
      "https://inbox.example.com.evil.test",
      "https://evil.test",
      "null",
      "",
      "not a url",
    ]) {
      expect(originAllowed(origin, publicUrl), origin).toBe(false);
    }
  });

  it("lets a client without Origin (not a browser page: the CLI, a script) through to authentication", () => {
    expect(originAllowed(undefined, publicUrl)).toBe(true);
  });
});

describe("Socket.IO handshakes against PUBLIC_URL", () => {
  let stack: Stack;
  let user: ApiClient;
  let proxied: WebServer;
  const PROXY = "https://inbox.example.test";

  beforeAll(async () => {
    stack = await startStack({ webs: 2, workers: 0 });
    await stack.simControl("POST", "/sim/accounts", { email: "origin@example.com", count: 1 });
    user = await stack.signIn("origin@example.com");
    // A node behind a TLS proxy: users open the proxy's address, the node listens elsewhere.
    proxied = await startWebServer({ ...stack.config, port: 0, publicUrl: PROXY }, { migrate: false });
  });
  afterAll(async () => {
    await proxied?.close();
    await stack?.close();
  });

  it("accepts the app's own page on either transport", async () => {
    for (const transports of [["websocket"], ["polling", "websocket"]] as const) {
      const socket = await connectSocket(stack.webs[0]!.url, {
        cookie: user.cookieHeader,
        origin: stack.webs[0]!.url,
        transports: [...transports],
      });
      expect(socket.connected).toBe(true);
      socket.close();
    }
  });

  it("refuses another site's page carrying the user's cookie, on either transport", async () => {
    for (const transports of [["websocket"], ["polling"]] as const) {
      const auth = { cookie: user.cookieHeader, transports: [...transports] };
      expect(await refusal(stack.webs[0]!.url, { ...auth, origin: "http://evil.example" })).not.toBe(
        "unauthorized",
      );
    }
  });

  it("refuses the same host on another port: another origin", async () => {
    const message = await refusal(stack.webs[0]!.url, {
      cookie: user.cookieHeader,
      origin: stack.webs[1]!.url,
    });
    expect(message).not.toBe("unauthorized");
  });

  it("refuses a forged Host that matches the forged Origin (what a Host comparison let through)", async () => {
    const handshake = (headers: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const socket = io(stack.webs[0]!.url, {
          transports: ["websocket"],
          extraHeaders: { cookie: user.cookieHeader, ...headers },
          reconnection: false,
          forceNew: true,
        });
        socket.on("connect", () => {
          socket.close();
          resolve("connected");
        });
        socket.on("connect_error", (err) => {
          socket.close();
          resolve(err.message);
        });
      });
    // The forged Host reaches the server (it is what the old check compared against).
    expect(await handshake({ host: new URL(stack.webs[0]!.url).host, origin: stack.webs[0]!.url })).toBe(
      "connected",
    );
    expect(await handshake({ host: "evil.example", origin: "http://evil.example" })).not.toBe("connected");
  });

  it("behind a proxy: accepts the public origin, refuses the node's own address", async () => {
    // No credentials: a handshake that passes the origin check is then refused as unauthorized,
    // one that fails it never gets that far.
    expect(await refusal(proxied.url, { origin: PROXY })).toBe("unauthorized");
    expect(await refusal(proxied.url, { origin: proxied.url })).not.toBe("unauthorized");
  });
});
