import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CONFIG_REFERENCE_COMMAND,
  CONFIG_REFERENCE_PATH,
  groupingDrift,
  renderConfigReference,
  undescribedVariables,
} from "./configReference";

const RUN = `run \`${CONFIG_REFERENCE_COMMAND}\` to rewrite docs/configuration.md`;

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

describe("docs/configuration.md, generated from core/config.ts's schema", () => {
  it("gives every variable of the schema a description", () => {
    expect(undescribedVariables(), `describe these in core/config.ts, then ${RUN}`).toEqual([]);
  });

  it("puts every variable of the schema in exactly one section of the page", () => {
    expect(groupingDrift(), `fix CONFIG_GROUPS in scripts/lib/configReference.ts, then ${RUN}`).toEqual({
      ungrouped: [],
      unknown: [],
      repeated: [],
    });
  });

  it("is exactly what the generator writes", () => {
    const onDisk = readFileSync(CONFIG_REFERENCE_PATH, "utf8");
    expect(onDisk, `docs/configuration.md is out of date: ${RUN}`).toBe(renderConfigReference());
  });

  it("links only to docs and headings that exist", () => {
    const page = renderConfigReference();
    const links = [...page.matchAll(/\]\(([\w-]+\.md)(?:#([\w-]+))?\)/g)];
    expect(links.length).toBeGreaterThan(5);
    const docs = path.dirname(CONFIG_REFERENCE_PATH);
    for (const [, file, anchor] of links) {
      const target = path.join(docs, file!);
      expect(existsSync(target), `${file} does not exist`).toBe(true);
      if (!anchor) continue;
      const headings = readFileSync(target, "utf8")
        .split("\n")
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => slug(line.replace(/^#+ /, "")));
      expect(headings, `${file} has no heading #${anchor}`).toContain(anchor);
    }
  });
});

describe("the generator", () => {
  const described = (text: string) => z.string().optional().meta({ description: text });

  it("refuses a variable that no section names, naming it", () => {
    const schema = z.object({ A: described("first"), B: described("second") });
    expect(() => renderConfigReference({ schema, groups: [{ title: "One", variables: ["A"] }] })).toThrow(
      "B is in no group",
    );
  });

  it("refuses a variable without a description, naming it", () => {
    const schema = z.object({ A: described("first"), B: z.string().optional() });
    expect(() =>
      renderConfigReference({ schema, groups: [{ title: "One", variables: ["A", "B"] }] }),
    ).toThrow("B has no description");
  });

  it("writes the parsed default, the schema's unset text, or a dash when there is neither", () => {
    const schema = z.object({
      PLAIN: z.coerce.number().default(7).meta({ description: "a number | with a pipe" }),
      ROLE: z.string().optional().meta({ description: "by role", unset: "web 20; worker 12" }),
      NONE: described("nothing"),
      LIST: z
        .string()
        .default("a, b")
        .transform((v) => v.split(", "))
        .meta({ description: "a list" }),
    });
    const page = renderConfigReference({
      schema,
      groups: [{ title: "Only", variables: ["PLAIN", "ROLE", "NONE", "LIST"] }],
    });
    expect(page).toContain("| `PLAIN` | `7` | a number \\| with a pipe |");
    expect(page).toContain("| `ROLE` | web 20; worker 12 | by role |");
    expect(page).toContain("| `NONE` | — | nothing |");
    expect(page).toContain("| `LIST` | `a,b` | a list |");
    expect(page).toContain("## Only");
  });
});
