/** A label's total for the page's heading: `GET /api/labels/:id` counts the user's stored mail. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../../test/ApiClient";
import { checkedStack } from "../../test/declaredResponses";
import { type Stack, startStack, waitForTask } from "../../test/stack";

const OWNER = "label-count@example.com";
const OTHER = "label-count-other@example.com";

describe("GET /api/labels/:id", () => {
  let stack: Stack;
  let owner: ApiClient;
  let sim: Array<{ labelIds: string[] }>;

  beforeAll(async () => {
    stack = checkedStack(await startStack());
    await stack.simControl("POST", "/sim/accounts", { email: OWNER, count: 60 });
    await stack.simControl("POST", "/sim/accounts", { email: OTHER, count: 5 });
    owner = await stack.signIn(OWNER);
    await waitForTask(owner, (await owner.json("POST", "/api/emails/sync")).body.taskId);
    sim = (await stack.simControl("GET", `/sim/accounts/${OWNER}/messages`)).messages;
  });
  afterAll(() => stack?.close());

  it("answers the label with the number of stored messages carrying it, as Gmail has them", async () => {
    const { body: list } = await owner.json("GET", "/api/labels");
    const counted = list.labels.filter((l: { id: string }) => ["INBOX", "Label_1"].includes(l.id));
    expect(counted.length).toBe(2);
    for (const label of counted) {
      const expected = sim.filter((m) => m.labelIds.includes(label.id)).length;
      expect(expected).toBeGreaterThan(0);
      const { status, body } = await owner.json("GET", `/api/labels/${label.id}`);
      expect(status).toBe(200);
      expect(body).toEqual({ ...label, messages: expected });
    }
  });

  it("is 404 for a label the user does not have and for another user's, 400 for a malformed id", async () => {
    const other = await stack.signIn(OTHER);
    expect((await other.json("GET", "/api/labels/Label_1")).status).toBe(404);
    expect((await owner.json("GET", "/api/labels/Label_999")).body.error.code).toBe("not_found");
    const bad = await owner.json("GET", "/api/labels/a%20b");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_label");
  });
});
