import { describe, expect, it } from "vitest";
import { deferred } from "../testMail";
import { Halt } from "./Halt";

describe("Halt (the first failure stops every lane)", () => {
  it("passes a pending value through while nothing has failed", async () => {
    const halt = new Halt();
    const page = deferred<string>();
    const waited = halt.unlessHalted(page.promise);
    page.resolve("page 2");
    await expect(waited).resolves.toBe("page 2");
    expect(halt.halted).toBe(false);
  });

  it("rejects a lane waiting for a page that never comes with the failure that halted the fetch", async () => {
    const halt = new Halt();
    const never = new Promise<string>(() => {});
    const waited = halt.unlessHalted(never);
    halt.halt(new Error("upsert failed"));
    await expect(waited).rejects.toThrow("upsert failed");
    expect(halt.halted).toBe(true);
  });

  it("once halted, rejects at once with the first failure, not a later one", async () => {
    const halt = new Halt();
    halt.halt(new Error("first"));
    halt.halt(new Error("second"));
    await expect(halt.unlessHalted(Promise.resolve("late page"))).rejects.toThrow("first");
  });

  it("passes a pending rejection through as it is", async () => {
    const halt = new Halt();
    await expect(halt.unlessHalted(Promise.reject(new Error("list failed")))).rejects.toThrow("list failed");
    expect(halt.halted).toBe(false);
  });
});
