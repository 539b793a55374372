import { writeFileSync } from "node:fs";
import path from "node:path";
import { CONFIG_REFERENCE_PATH, renderConfigReference } from "./lib/configReference";

/** `npm run docs:config`: rewrites docs/configuration.md from core/config.ts's schema. */
writeFileSync(CONFIG_REFERENCE_PATH, renderConfigReference());
process.stdout.write(`wrote ${path.relative(process.cwd(), CONFIG_REFERENCE_PATH)}\n`);
