import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../test/ApiClient";
import { type Stack, startStack } from "../test/stack";

/**
 * Web nodes resolve sessions and API tokens from a 30-second in-process cache. What ends on one
 * node must be refused on the other within a second all the same, though the other still holds
 * the principal in its cache: the ending is published through Redis.
 */
describe("principal cache across web nodes", () => {
  let stack: Stack;
  let n = 0;
  /** How far the nodes' principal-cache clock runs ahead of the real one: moved, never slept. */
  let aheadMs = 0;

  beforeAll(async () => {
    stack = await startStack({ webs: 2, workers: 0, web: { now: () => Date.now() + aheadMs } });
    // A node subscribes to invalidations just after it starts; until then it keeps entries 2 s.
    await vi.waitFor(() =>
      expect(stack.webs.map((w) => w.ctx.sessions.principalCache?.listening)).toEqual([true, true]),
    );
  });
  afterAll(() => stack?.close());

  async function newUser(): Promise<ApiClient> {
    const email = `auth-cache-${++n}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email, count: 1 });
    return stack.signIn(email, 0);
  }

  const cacheOf = (node: number) => stack.webs[node]!.ctx.sessions.principalCache!;

  /** Two requests on node B: the first fills its cache, the second must be answered from it. */
  async function warm(status: () => Promise<number>): Promise<void> {
    expect(await status()).toBe(200);
    const hits = cacheOf(1).stats.hits;
    expect(await status()).toBe(200);
    expect(cacheOf(1).stats.hits).toBe(hits + 1);
  }

  /** The status node B answers once a second has passed (or earlier, once it refuses). */
  async function withinASecond(status: () => Promise<number>): Promise<number> {
    const deadline = Date.now() + 1_000;
    let last = await status();
    while (last !== 401 && Date.now() < deadline) {
      await sleep(25);
      last = await status();
    }
    return last;
  }

  it("keeps a principal past the 2 s of the fallback while it hears the other nodes through Redis", async () => {
    const user = (await newUser()).on(stack.webs[1]!.url);
    const meOnB = async () => (await user.json("GET", "/api/me")).status;
    await warm(meOnB);
    aheadMs += 2_100;
    const hits = cacheOf(1).stats.hits;
    expect(await meOnB()).toBe(200);
    expect(cacheOf(1).stats.hits).toBe(hits + 1);
  });

  it("a logout on node A is refused on node B within 1 s, though B had the session cached", async () => {
    const onA = await newUser();
    const onB = onA.on(stack.webs[1]!.url);
    const meOnB = async () => (await onB.json("GET", "/api/me")).status;
    await warm(meOnB);

    expect((await onA.json("POST", "/auth/logout")).status).toBe(204);
    expect(await withinASecond(meOnB)).toBe(401);
  });

  it("a token revoked on node A is refused on node B within 1 s, though B had the token cached", async () => {
    const owner = await newUser();
    const { body } = await owner.json("POST", "/api/tokens", { name: "script" });
    const bearerOnB = async () =>
      (await fetch(`${stack.webs[1]!.url}/api/me`, { headers: { authorization: `Bearer ${body.token}` } }))
        .status;
    await warm(bearerOnB);

    expect((await owner.json("DELETE", `/api/tokens/${body.id}`)).status).toBe(204);
    expect(await withinASecond(bearerOnB)).toBe(401);
    // The owner's session was not what ended.
    expect((await owner.on(stack.webs[1]!.url).json("GET", "/api/me")).status).toBe(200);
  });

  it("sign-out-everywhere on node A ends every session of the user on node B within 1 s; their token goes on", async () => {
    const laptop = await newUser();
    const { body: me } = await laptop.json("GET", "/api/me");
    const phone = await stack.signIn(me.email, 1);
    const { body: token } = await laptop.json("POST", "/api/tokens", { name: "cron" });
    const laptopOnB = async () => (await laptop.on(stack.webs[1]!.url).json("GET", "/api/me")).status;
    const phoneOnB = async () => (await phone.json("GET", "/api/me")).status;
    const tokenOnB = async () =>
      (await fetch(`${stack.webs[1]!.url}/api/me`, { headers: { authorization: `Bearer ${token.token}` } }))
        .status;
    await warm(laptopOnB);
    await warm(phoneOnB);
    await warm(tokenOnB);

    expect((await laptop.json("DELETE", "/api/sessions")).status).toBe(204);
    expect(await withinASecond(laptopOnB)).toBe(401);
    expect(await withinASecond(phoneOnB)).toBe(401);
    expect(await tokenOnB()).toBe(200);
  });

  it("an account deleted on node A is refused on node B within 1 s, for its sessions and its tokens", async () => {
    const user = await newUser();
    const { body: token } = await user.json("POST", "/api/tokens", { name: "backup" });
    const sessionOnB = async () => (await user.on(stack.webs[1]!.url).json("GET", "/api/me")).status;
    const tokenOnB = async () =>
      (await fetch(`${stack.webs[1]!.url}/api/me`, { headers: { authorization: `Bearer ${token.token}` } }))
        .status;
    await warm(sessionOnB);
    await warm(tokenOnB);

    expect((await user.json("DELETE", "/api/account")).status).toBe(204);
    expect(await withinASecond(sessionOnB)).toBe(401);
    expect(await withinASecond(tokenOnB)).toBe(401);
  });

  it("another user's principal stays cached when someone signs out", async () => {
    const leaving = await newUser();
    const staying = (await newUser()).on(stack.webs[1]!.url);
    const stayingOnB = async () => (await staying.json("GET", "/api/me")).status;
    await warm(stayingOnB);
    expect((await leaving.json("POST", "/auth/logout")).status).toBe(204);
    const hits = cacheOf(1).stats.hits;
    expect(await stayingOnB()).toBe(200);
    expect(cacheOf(1).stats.hits).toBe(hits + 1);
  });
});
