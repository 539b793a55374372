import net from "node:net";

/**
 * Unit tests run without PostgreSQL, Redis or any network: a test that opens a socket or a
 * listening server fails here at once, rather than passing on a machine that happens to have them.
 */
const refuse = (what: string) => () => {
  throw new Error(`unit tests use no network: ${what} refused (move this test to the integration project)`);
};
net.Socket.prototype.connect = refuse("socket connect") as never;
net.Server.prototype.listen = refuse("server listen") as never;
