import { describe, expect, it } from "vitest";
import { metricsAccess } from "./metricsAccess";

const TOKEN = "m3tr1cs-2b7e91f4c06a58d3e1f7a9c24b80d6e5";

describe("who may read /metrics (web and worker alike)", () => {
  it("serves nothing without METRICS_TOKEN, whatever is sent", () => {
    const judge = metricsAccess(undefined);
    expect([undefined, "Bearer x", `Bearer ${TOKEN}`].map(judge)).toEqual([
      "not_served",
      "not_served",
      "not_served",
    ]);
    expect(metricsAccess("")(`Bearer ${TOKEN}`)).toBe("not_served");
  });

  it("allows the exact bearer token alone", () => {
    const judge = metricsAccess(TOKEN);
    expect(judge(`Bearer ${TOKEN}`)).toBe("allowed");
    expect(judge(`bearer ${TOKEN}`)).toBe("allowed");
    for (const sent of [
      undefined,
      "",
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
    ]) {
      expect(judge(sent), String(sent)).toBe("unauthorized");
    }
  });
});
