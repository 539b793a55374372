/** A hash of every build input's path and bytes under `root` (default: the working directory). */
export function sourceHash(root?: string): string;
