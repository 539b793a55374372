import type { GmailWatch } from "../gmail/watch";
import type { Logger } from "../logger";
import type { SyncQueue } from "../queue";
import type { AccountService } from "../services/AccountService";

/** What the commands for leaving (disconnect Gmail, delete the account, sign out everywhere) use. */
export interface LeavingDeps {
  accounts: AccountService;
  /** Google's token revocation endpoint (config.google.revokeUrl). */
  revokeUrl: string;
  /** Null in streaming-fallback mode (no Redis): there are no queued jobs to cancel then. */
  queue: SyncQueue | null;
  logger: Logger;
  /** Gmail push: a leaving account's watch is stopped (best effort) while its grant still works. */
  watch?: Pick<GmailWatch, "stopQuietly">;
  /** Closes the sockets in these rooms, on every web node (through the Socket.IO adapter). */
  disconnectSockets(rooms: string[]): void;
}
