import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import { MemoryMailStore } from "../MemoryMailStore";
import type { SyncProgressUpdate } from "../SyncOptions";
import { syncRunOf } from "../SyncRun";
import { gmailMessage } from "../testMail";
import { fullSync } from "./fullSync";

/** A mailbox of `ids` in pages of `per`; page tokens are offsets, and `refuse` says which to refuse. */
function fakeGmail(ids: string[], per: number, refuse: (token: string) => boolean = () => false) {
  const listed: Array<string | undefined> = [];
  const got: string[] = [];
  const gmail = {
    users: {
      getProfile: async () => ({ data: { historyId: "900", messagesTotal: ids.length } }),
      messages: {
        list: async (p: { pageToken?: string }) => {
          listed.push(p.pageToken);
          if (p.pageToken && refuse(p.pageToken))
            throw Object.assign(new Error("Invalid pageToken"), { status: 400 });
          const from = p.pageToken ? Number(p.pageToken) : 0;
          const next = from + per < ids.length ? String(from + per) : undefined;
          return {
            data: { messages: ids.slice(from, from + per).map((id) => ({ id })), nextPageToken: next },
          };
        },
        get: async (p: { id: string }) => {
          got.push(p.id);
          return { data: gmailMessage(p.id) };
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  return { gmail, listed, got };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

describe("fullSync", () => {
  it("lists, fetches what is missing, saves the profile's cursor and drops its listing", async () => {
    const store = new MemoryMailStore();
    const { gmail } = fakeGmail(ids(7), 3);
    const said: SyncProgressUpdate[] = [];
    const run = syncRunOf(gmail, store, (u) => void said.push(u), {
      listingKey: "task",
      retry: { attempts: 1 },
    });
    expect(await fullSync(run, null)).toEqual({
      mode: "full",
      added: 7,
      updated: 0,
      deleted: 0,
      historyId: "900",
      gmailTotal: 7,
    });
    expect((await store.coverage()).cursor).toBe("900");
    expect(await store.listing("task").state()).toBeNull();
    expect(said.at(-1)).toEqual({ phase: "done", processed: 7, total: 7 });
  });

  it("a stored page token Gmail refuses lists again from the top, once, skipping what is stored", async () => {
    const store = new MemoryMailStore();
    const listing = store.listing("task");
    await listing.addPage(
      { index: 0, ids: ["m0", "m1", "m2"], nextPageToken: "3" },
      { historyId: "800", estimate: 7 },
    );
    const { gmail, listed, got } = fakeGmail(ids(7), 3, (token) => token === "3" && listed.length === 1);
    const run = syncRunOf(gmail, store, () => {}, { listingKey: "task", retry: { attempts: 1 } });
    const result = await fullSync(run, null);
    expect(listed).toEqual(["3", undefined, "3", "6"]);
    // The listing began again: its cursor is the new profile's, not the stale listing's.
    expect(result).toMatchObject({ mode: "full", historyId: "900" });
    // What the first walk stored before the refusal is kept and not fetched again.
    expect((await store.listIds()).sort()).toEqual(ids(7).sort());
    expect(got.sort()).toEqual(ids(7).sort());
  });
});
