/** What an id's message belongs to: told once that message is written, or needs no write. */
export interface Settling {
  settle(n: number): Promise<void>;
}

/**
 * One call for the fetch lanes: a message (`id`, its `owner` the listing page it came from, in a
 * full sync), or, with `thread`, the whole thread `id` fetched for the listed messages it holds
 * (`thread.members`, each with its own owner).
 */
export interface FetchItem {
  id: string;
  owner?: Settling;
  thread?: { members: FetchItem[] };
}

/** Messages an item answers for: a thread's members, else the one message. */
export const messagesIn = (item: FetchItem): number => item.thread?.members.length ?? 1;

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
