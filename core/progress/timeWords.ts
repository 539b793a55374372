/**
 * Durations and clock times as a person reads them in a progress line, shared by the browser app
 * and the CLI so both say the same thing. Pure: the instant "now" and the time zone are arguments.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * How long is left, coarse enough to read at a glance and never "0": "a few seconds", "40 s",
 * "12 min", "3 h 20 min", "2 days 8 h". Minutes are rounded up below an hour (a sync said to
 * need "1 min" should not still run after it), to the nearest minute above.
 */
export function spanWords(ms: number): string {
  const left = Math.max(0, ms);
  if (left < 5_000) return "a few seconds";
  if (left < MINUTE) return `${Math.ceil(left / 5_000) * 5} s`;
  if (left < HOUR) return `${Math.min(60, Math.ceil(left / MINUTE))} min`;
  if (left < 2 * DAY) {
    const minutes = Math.round(left / MINUTE);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  const hours = Math.round(left / HOUR);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return h === 0 ? `${d} days` : `${d} days ${h} h`;
}

/** The time zone this runtime reads clocks in (the browser's, the terminal's). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Where an instant falls in a zone: its date (for "today"/"tomorrow") and 24-hour time. */
function partsIn(at: number, timeZone: string): { date: string; time: string; weekday: string } {
  const parts: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "short",
    day: "numeric",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at))
    parts[p.type] = p.value;
  return {
    date: `${parts.month} ${parts.day}, ${parts.year}`,
    time: `${parts.hour}:${parts.minute}`,
    weekday: `${parts.weekday}, ${parts.month} ${parts.day}`,
  };
}

/** The zone's short name at that instant: "UTC", "GMT+1", "PST". */
export function zoneName(at: number, timeZone: string): string {
  const part = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "short" })
    .formatToParts(at)
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? timeZone;
}

/**
 * A clock time in `timeZone`, 24-hour, with the day when it is not today there: "14:05",
 * "09:00 tomorrow", "08:30 on Wed, Dec 9". `withZone` adds the zone's short name ("14:05 UTC"),
 * for readers who may not share the zone (a terminal on a server).
 */
export function clockWords(at: number, now: number, timeZone: string, withZone = false): string {
  const then = partsIn(at, timeZone);
  const zone = withZone ? ` ${zoneName(at, timeZone)}` : "";
  if (then.date === partsIn(now, timeZone).date) return `${then.time}${zone}`;
  if (then.date === partsIn(now + DAY, timeZone).date) return `${then.time}${zone} tomorrow`;
  return `${then.time}${zone} on ${then.weekday}`;
}

/** Google's daily quotas reset at midnight Pacific Time. */
export const GOOGLE_DAY_ZONE = "America/Los_Angeles";

/** True when `at` is a midnight in Pacific Time (to the minute): the start of Google's day. */
export function isGoogleMidnight(at: number): boolean {
  return partsIn(at, GOOGLE_DAY_ZONE).time === "00:00";
}
