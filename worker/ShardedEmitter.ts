import { randomBytes } from "node:crypto";
import type { EventNames, EventParams, EventsMap } from "@socket.io/redis-emitter/dist/typed-events";
import type { Cluster, Redis } from "ioredis";

/**
 * What a worker needs of an emitter: emit an event to rooms on every web node. Both
 * @socket.io/redis-emitter's `Emitter` and `ShardedEmitter` below are one.
 */
export interface RoomEmitter<Events extends EventsMap> {
  to(room: string | string[]): {
    emit<Ev extends EventNames<Events>>(ev: Ev, ...args: EventParams<Events, Ev>): boolean;
  };
  /** An event for the web nodes' servers themselves (`io.on(ev)`), not their sockets. */
  serverSideEmit(ev: string, ...args: unknown[]): unknown;
}

/** socket.io-adapter's ClusterAdapter message type for a broadcast, and socket.io-parser's EVENT. */
const BROADCAST = 3;
const SERVER_SIDE_EMIT = 9;
const EVENT = 2;

/** A socket id: what the sharded adapter never gives a channel of its own (`looksLikeASocketId`). */
const looksLikeASocketId = (room: string) => room.length === 20;

/**
 * Emits to the rooms of web nodes that run @socket.io/redis-adapter's `createShardedAdapter` (a
 * Redis Cluster: SSUBSCRIBE/SPUBLISH, Redis 7). @socket.io/redis-emitter cannot: it only speaks
 * classic PUBLISH, to the classic adapter's channels (its source publishes with `publish` alone,
 * and sharded pub/sub is an open request there, socketio/socket.io-redis-emitter#127).
 *
 * This writes exactly what a sharded adapter's own `doPublish` writes for a broadcast (adapter
 * 8.3, dist/sharded-adapter.js): a ClusterAdapter message `{uid, nsp, type: BROADCAST, data:
 * {opts: {rooms, except, flags}, packet}}`, JSON-encoded (the adapter reads a message starting
 * with `{` as JSON, anything else as msgpack), SPUBLISHed to `<prefix>#<nsp>#`, or to the room's
 * own `<prefix>#<nsp>#<room>#` when it names one room (`computeChannel`, "dynamic" subscription
 * mode, the default: a node listens there while it has sockets in the room). Nodes ignore only
 * messages carrying their own uid, so this publisher has one of its own.
 *
 * Binary payloads would need msgpack; no event of this app carries any, so they are refused.
 */
export class ShardedEmitter<Events extends EventsMap> implements RoomEmitter<Events> {
  private readonly uid = `emitter-${randomBytes(6).toString("hex")}`;
  private readonly channel: string;

  constructor(
    private readonly redis: Redis | Cluster,
    /** The adapter's `channelPrefix`. */
    channelPrefix: string,
    private readonly nsp = "/",
  ) {
    this.channel = `${channelPrefix}#${nsp}#`;
  }

  /**
   * What a sharded adapter's own `serverSideEmit` writes (ClusterAdapter, no acknowledgement):
   * `{uid, nsp, type: SERVER_SIDE_EMIT, data: {packet: [ev, ...args]}}` on the namespace's
   * channel, where every node listens.
   */
  serverSideEmit(ev: string, ...args: unknown[]): boolean {
    const message = { uid: this.uid, nsp: this.nsp, type: SERVER_SIDE_EMIT, data: { packet: [ev, ...args] } };
    this.redis.spublish(this.channel, JSON.stringify(message)).catch(() => {});
    return true;
  }

  to(room: string | string[]) {
    const rooms = Array.isArray(room) ? room : [room];
    return {
      emit: <Ev extends EventNames<Events>>(ev: Ev, ...args: EventParams<Events, Ev>): boolean => {
        const message = {
          uid: this.uid,
          nsp: this.nsp,
          type: BROADCAST,
          data: {
            opts: { rooms, except: [], flags: {} },
            packet: { type: EVENT, data: [ev, ...args], nsp: this.nsp },
          },
        };
        const encoded = JSON.stringify(message, (_key, value) => {
          // A Buffer reaches the replacer as its toJSON form, `{type: "Buffer", data: [...]}`.
          const buffer = value?.type === "Buffer" && Array.isArray(value.data);
          if (buffer || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
            throw new TypeError("ShardedEmitter sends JSON only: binary payloads are not supported");
          }
          return value;
        });
        const channel =
          rooms.length === 1 && !looksLikeASocketId(rooms[0]!) ? `${this.channel}${rooms[0]}#` : this.channel;
        // Fire and forget, as redis-emitter does: a lost progress event is repaired by the next one
        // (and by the status route's snapshot); Redis errors surface on the client's 'error' event.
        this.redis.spublish(channel, encoded).catch(() => {});
        return true;
      },
    };
  }
}
