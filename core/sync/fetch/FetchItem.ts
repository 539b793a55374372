/** What an id's message belongs to: told once that message is written, or needs no write. */
export interface Settling {
  settle(n: number): Promise<void>;
}

/** One id for the fetch lanes; `owner` is the listing page it came from (full syncs). */
export interface FetchItem {
  id: string;
  owner?: Settling;
}

/**
 * The next id to fetch, or null once there is none; a promise only when the lanes must wait for
 * more ids (the next listing page).
 */
export type TakeItem = () => FetchItem | null | Promise<FetchItem | null>;

/** Lanes over a plain list of ids (an incremental sync's fetch). */
export function fromList(ids: readonly string[]): TakeItem {
  let next = 0;
  return () => (next < ids.length ? { id: ids[next++]! } : null);
}
