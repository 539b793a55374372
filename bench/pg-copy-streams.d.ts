/** The one call the P3 floor makes of pg-copy-streams, which ships no types. */
declare module "pg-copy-streams" {
  import type { Writable } from "node:stream";
  import type { Submittable } from "pg";

  /** `COPY … FROM STDIN` as a query pg can run and a stream its rows are written to. */
  export function from(text: string): Submittable & Writable;
}
