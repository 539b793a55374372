import type { IncomingMessage } from "node:http";
import express from "express";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../core/config";
import { clientAddress, compileTrustProxy } from "./clientAddress";

/** TRUST_PROXY: which hops may name the client, read the same way by Express and by sockets. */
const dev = { DATA_DIR: ".data/test", SESSION_SECRET: "s".repeat(40), TOKEN_ENCRYPTION_KEY: "ab".repeat(32) };

const trustOf = (value?: string) =>
  compileTrustProxy(loadConfig(value === undefined ? dev : { ...dev, TRUST_PROXY: value }).trustProxy);

/** A request as a web node receives it: its peer's address and the X-Forwarded-For it was given. */
const request = (peer: string, forwardedFor?: string) =>
  ({
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
    socket: { remoteAddress: peer },
  }) as unknown as IncomingMessage;

const addressOf = (value: string | undefined, peer: string, forwardedFor?: string) =>
  clientAddress(request(peer, forwardedFor), trustOf(value));

function refusal(value: string): ConfigError {
  try {
    loadConfig({ ...dev, TRUST_PROXY: value });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`TRUST_PROXY=${value} was accepted`);
}

describe("TRUST_PROXY", () => {
  it("defaults to hops on this host or a private network, however many there are", () => {
    expect(loadConfig(dev).trustProxy).toEqual(["loopback", "uniquelocal"]);
    // nginx alone, replacing X-Forwarded-For with the real address.
    expect(addressOf(undefined, "172.18.0.5", "203.0.113.7")).toBe("203.0.113.7");
    // A TLS terminator that appends, then a proxy that appends too.
    expect(addressOf(undefined, "127.0.0.1", "203.0.113.7, 10.0.0.2")).toBe("203.0.113.7");
    // What a client wrote itself stays to the left of its own address, which ends the walk.
    expect(addressOf(undefined, "127.0.0.1", "198.51.100.1, 203.0.113.7")).toBe("203.0.113.7");
  });

  it("by default believes no X-Forwarded-For from a peer on a public address", () => {
    expect(addressOf(undefined, "198.51.100.20", "203.0.113.7")).toBe("198.51.100.20");
    expect(addressOf(undefined, "2001:db8::20", "203.0.113.7")).toBe("2001:db8::20");
  });

  it("as a hop count believes exactly that many hops, as Express's `trust proxy` n does", () => {
    const twoHops = "203.0.113.7, 10.0.0.2";
    expect(addressOf("0", "127.0.0.1", twoHops)).toBe("127.0.0.1");
    expect(addressOf("1", "127.0.0.1", twoHops)).toBe("10.0.0.2");
    expect(addressOf("2", "127.0.0.1", twoHops)).toBe("203.0.113.7");
    expect(addressOf("2", "127.0.0.1", `198.51.100.1, ${twoHops}`)).toBe("203.0.113.7");
  });

  it("as addresses believes only the hops it names", () => {
    const value = "10.1.0.0/16, 192.0.2.10";
    expect(loadConfig({ ...dev, TRUST_PROXY: value }).trustProxy).toEqual(["10.1.0.0/16", "192.0.2.10"]);
    expect(addressOf(value, "10.1.2.3", "203.0.113.7")).toBe("203.0.113.7");
    expect(addressOf(value, "10.1.2.3", "203.0.113.7, 192.0.2.10")).toBe("203.0.113.7");
    expect(addressOf(value, "127.0.0.1", "203.0.113.7")).toBe("127.0.0.1");
    expect(addressOf(value, "10.2.0.1", "203.0.113.7")).toBe("10.2.0.1");
  });

  it("gives Express's req.ip the same address the socket side reads", () => {
    const app = express();
    for (const value of [undefined, "1", "2", "loopback", "10.1.0.0/16"]) {
      const trust = trustOf(value);
      app.set("trust proxy", trust);
      for (const [peer, xff] of [
        ["127.0.0.1", "203.0.113.7, 10.1.0.9"],
        ["10.1.0.4", "198.51.100.1, 203.0.113.7"],
        ["198.51.100.20", "203.0.113.7"],
      ] as const) {
        const req = Object.assign(Object.create(app.request), request(peer, xff)) as express.Request;
        expect(req.ip, `TRUST_PROXY=${value} peer ${peer} X-Forwarded-For ${xff}`).toBe(
          clientAddress(request(peer, xff), trust),
        );
      }
    }
  });

  it("refuses what is neither a hop count nor addresses, in one line naming the variable", () => {
    for (const bad of ["true", "-1", "100", "10.0.0.0/33", "loopback,proxy.internal", ","]) {
      const err = refusal(bad);
      expect(err.variable).toBe("TRUST_PROXY");
      expect(err.message).toMatch(/^Invalid configuration: TRUST_PROXY must be a hop count/);
      expect(err.message).not.toContain("\n");
    }
  });
});
