/**
 * The floor for push latency (bench row P2): a bare Socket.IO server with the same Redis adapter
 * and channel prefix as a web node, and nothing else (no auth, no app). A client joins a room by
 * asking; whatever an emitter publishes to that room reaches it through Redis exactly as a
 * worker's progress reaches a browser.
 * `GET /connected` answers how many clients it holds (bench row P10 waits for none after closing).
 * Env: PORT, REDIS_URL, SOCKET_KEY. Prints "ready" when it listens.
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();
const http = createServer((req, res) => {
  if (req.url === "/connected") res.end(String(io.engine.clientsCount));
});
const io = new Server(http, { path: "/socket.io", serveClient: false });
io.adapter(createAdapter(pub, sub, { key: process.env.SOCKET_KEY! }));
io.on("connection", (socket) => {
  socket.on("join", (room: string, ack: () => void) => {
    void socket.join(room);
    ack();
  });
});
http.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
