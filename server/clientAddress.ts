import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";
import type { Config } from "../core/config";

/**
 * The one rule for who a client is (TRUST_PROXY, docs/proxies.md). Express reads `req.ip` with
 * it (`app.set("trust proxy", …)`) and the Socket.IO handshake with `clientAddress`, both through
 * proxy-addr, so every limit counted per address sees the same address on either side.
 */

/** Whether the hop at `addr`, `hop` steps from the web node (0 = its peer), may be believed. */
export type TrustProxy = (addr: string, hop: number) => boolean;

/** TRUST_PROXY compiled: a hop count as Express reads `trust proxy` n, else proxy-addr's list. */
export function compileTrustProxy(setting: Config["trustProxy"]): TrustProxy {
  if (typeof setting === "number") return (_addr, hop) => hop < setting;
  return proxyaddr.compile(setting);
}

/** The client's address as `req.ip` reads it: the peer, or the nearest untrusted forwarded hop. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return proxyaddr(req, trust) ?? "unknown";
}
