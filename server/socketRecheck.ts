import type { Server as HttpServer } from "node:http";
import type { SessionService } from "../core/services/SessionService";
import type { RealtimeServer } from "./realtime";
import type { WebContext } from "./WebContext";

/**
 * Closes this node's sockets whose session or API token is no longer in force. Sign-out, revoke,
 * deletion and sign-out-everywhere close sockets at once; this catches what ends on its own
 * (absolute or idle expiry, a purge) or by a path that did not say so. Answers how many closed.
 */
export async function recheckSockets(io: RealtimeServer, sessions: SessionService): Promise<number> {
  const sockets = [...io.of("/").sockets.values()];
  if (sockets.length === 0) return 0;
  const sessionIds = new Set<string>();
  const tokenIds = new Set<string>();
  for (const s of sockets) {
    const p = s.data.principal;
    if (p?.sessionId) sessionIds.add(p.sessionId);
    if (p?.tokenId) tokenIds.add(p.tokenId);
  }
  const valid = await sessions.stillValid({ sessionIds: [...sessionIds], tokenIds: [...tokenIds] });
  let closed = 0;
  for (const s of sockets) {
    const p = s.data.principal;
    const ok = p?.sessionId
      ? valid.sessionIds.has(p.sessionId)
      : p?.tokenId
        ? valid.tokenIds.has(p.tokenId)
        : false;
    if (!ok && s.connected) {
      s.disconnect(true);
      closed++;
    }
  }
  return closed;
}

/** Rechecks every `config.socketRecheckSeconds` until the HTTP server closes. */
export function startSocketRecheck(io: RealtimeServer, ctx: WebContext, httpServer: HttpServer): void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const closed = await recheckSockets(io, ctx.sessions);
      if (closed) ctx.logger.info({ closed }, "closed sockets whose session or token ended");
    } catch (err) {
      ctx.logger.debug({ err }, "socket recheck failed; next round tries again");
    } finally {
      busy = false;
    }
  }, ctx.config.socketRecheckSeconds * 1000);
  timer.unref();
  httpServer.once("close", () => clearInterval(timer));
}
