/**
 * Remembers the running sync's task id per account, so a reload (or a new tab) picks it up
 * again: the server has no "current task" endpoint. Storage may be unavailable (privacy modes);
 * then resuming relies on the socket's `sync:progress` alone.
 */
const key = (email: string) => `inbox-sync:task:${email.toLowerCase()}`;

export const taskStore = {
  save(email: string, taskId: string): void {
    try {
      localStorage.setItem(key(email), taskId);
    } catch {
      // storage disabled or full
    }
  },
  load(email: string): string | null {
    try {
      return localStorage.getItem(key(email));
    } catch {
      return null;
    }
  },
  clear(email: string, taskId?: string): void {
    try {
      if (taskId === undefined || localStorage.getItem(key(email)) === taskId)
        localStorage.removeItem(key(email));
    } catch {
      // nothing to clear
    }
  },
};
