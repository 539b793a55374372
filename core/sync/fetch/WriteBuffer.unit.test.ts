import { describe, expect, it } from "vitest";
import type { MailMessage } from "../MailStore";
import { MemoryMailStore } from "../MemoryMailStore";
import { deferred, mail } from "../testMail";
import { BATCH_BODY_CHARS, WriteBuffer } from "./WriteBuffer";

/** A MemoryMailStore whose upserts wait for the test to let each one through. */
class GatedStore extends MemoryMailStore {
  readonly started: MailMessage[][] = [];
  running = 0;
  mostRunning = 0;
  readonly gates: Array<ReturnType<typeof deferred<void>>> = [];

  override async upsert(messages: MailMessage[]) {
    this.started.push(messages);
    this.running++;
    this.mostRunning = Math.max(this.mostRunning, this.running);
    const gate = deferred();
    this.gates.push(gate);
    await gate.promise;
    this.running--;
    return super.upsert(messages);
  }
}

/** An owner (a listing page) that records when it is settled. */
const owner = (name: string, log: string[]) => ({
  settle: async (n: number) => {
    log.push(`${name}:${n}`);
  },
});

/** Lets every pending microtask and upsert step run. */
const drain = () => new Promise((r) => setImmediate(r));

describe("WriteBuffer", () => {
  it("cuts a batch at batchSize messages and counts what the store added", async () => {
    const store = new MemoryMailStore();
    const buffer = new WriteBuffer(store, 2, () => {});
    buffer.add(mail("a"));
    expect(buffer.cutIfFull()).toBe(false);
    buffer.add(mail("b"));
    expect(buffer.cutIfFull()).toBe(true);
    buffer.add(mail("c"));
    await buffer.flush();
    expect(buffer).toMatchObject({ added: 3, updated: 0, cuts: 1 });
    expect((await store.listIds()).sort()).toEqual(["a", "b", "c"]);
  });

  it("cuts a batch early once its bodies reach BATCH_BODY_CHARS, however few the messages", () => {
    const buffer = new WriteBuffer(new MemoryMailStore(), 100, () => {});
    buffer.add(mail("big", BATCH_BODY_CHARS - 1));
    expect(buffer.cutIfFull()).toBe(false);
    buffer.add(mail("one more", 1));
    expect(buffer.cutIfFull()).toBe(true);
  });

  it("runs one upsert at a time, and settles owners in the order their batches were written", async () => {
    const store = new GatedStore();
    const log: string[] = [];
    const buffer = new WriteBuffer(store, 1, () => {});
    buffer.add(mail("a"), owner("page0", log));
    void buffer.flush();
    buffer.skip(owner("page0-hidden", log));
    buffer.add(mail("b"), owner("page1", log));
    const both = buffer.flush();
    await drain();
    expect(store.started).toHaveLength(1);
    expect(log).toEqual([]);
    store.gates[0]!.resolve();
    await drain();
    expect(store.started).toHaveLength(2);
    expect(log).toEqual(["page0:1", "page0-hidden:1"]);
    store.gates[1]!.resolve();
    await both;
    expect(log).toEqual(["page0:1", "page0-hidden:1", "page1:1"]);
    expect(store.mostRunning).toBe(1);
  });

  it("tells onFailure of a failed write, and settles nothing of that batch", async () => {
    const store = new MemoryMailStore();
    store.upsert = async () => {
      throw new Error("disk full");
    };
    const failures: unknown[] = [];
    const log: string[] = [];
    const buffer = new WriteBuffer(store, 10, (err) => failures.push(err));
    buffer.add(mail("a"), owner("page0", log));
    await expect(buffer.flush()).rejects.toThrow("disk full");
    expect(failures).toEqual([new Error("disk full")]);
    expect(log).toEqual([]);
  });

  it("a flush with nothing buffered waits for the writes already started", async () => {
    const store = new GatedStore();
    const buffer = new WriteBuffer(store, 10, () => {});
    buffer.add(mail("a"));
    void buffer.flush();
    let done = false;
    const empty = buffer.flush().then(() => {
      done = true;
    });
    await drain();
    expect(done).toBe(false);
    store.gates[0]!.resolve();
    await empty;
    expect(buffer.added).toBe(1);
  });
});
