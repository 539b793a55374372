// proxy-addr ships no types and @types/proxy-addr is not a dependency: the two calls used here.
declare module "proxy-addr" {
  import type { IncomingMessage } from "node:http";

  /** Whether the hop at `addr`, `hop` steps from this server (0 = the peer), may be believed. */
  type Trust = (addr: string, hop: number) => boolean;

  /** The client's address: the peer's, or the nearest untrusted X-Forwarded-For entry. */
  function proxyaddr(req: IncomingMessage, trust: Trust | string | string[]): string;
  namespace proxyaddr {
    /** Addresses, CIDRs and the names loopback, linklocal, uniquelocal; throws on a bad one. */
    function compile(trust: string | string[]): Trust;
  }
  export = proxyaddr;
}
