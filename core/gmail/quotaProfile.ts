/**
 * Gmail's usage limits and per-method costs as one table: what the quota gate spends from and what
 * the sync plans with. Google gives a Cloud project one of two profiles: `legacy` (250 units per
 * user per second, 1,200,000 per project per minute) or, for projects made from 1 May 2026 on,
 * `2026` (6,000 units per user per minute, 1,200,000 per project per minute, 80,000,000 per
 * project per day). Each value can be overridden, since Google grants raises per project.
 */

/** Gmail methods the product calls, named as googleapis names them. */
export const QUOTA_METHODS = [
  "users.getProfile",
  "messages.list",
  "messages.get",
  "threads.get",
  "history.list",
  "labels.list",
  "labels.get",
  "messages.attachments.get",
  "users.watch",
  "users.stop",
] as const;

export type QuotaMethod = (typeof QUOTA_METHODS)[number];

/** Google's usage-limits table names some methods without their resource. */
const METHOD_ALIASES: Readonly<Record<string, QuotaMethod>> = {
  getProfile: "users.getProfile",
  watch: "users.watch",
  stop: "users.stop",
};

/** Units per call, as Google's "Usage limits" table gives them. */
export const GOOGLE_METHOD_COSTS: Readonly<Record<QuotaMethod, number>> = {
  "users.getProfile": 1,
  "messages.list": 5,
  "messages.get": 5,
  "threads.get": 10,
  "history.list": 2,
  "labels.list": 1,
  "labels.get": 1,
  "messages.attachments.get": 5,
  "users.watch": 100,
  "users.stop": 50,
};

export type QuotaProfileName = "legacy" | "2026";

export const QUOTA_PROFILE_NAMES: readonly QuotaProfileName[] = ["legacy", "2026"];

/** The resolved limits; 0 = no limit. */
export interface GmailQuotaTable {
  profile: QuotaProfileName;
  /** Units one Gmail user's calls may spend in any minute, all workers together. */
  userUnitsPerMinute: number;
  /** Units the whole project may spend in any minute. */
  projectUnitsPerMinute: number;
  /** Units the whole project may spend in one day (Google resets it at midnight Pacific Time). */
  projectUnitsPerDay: number;
  /** The per-minute limits as steady rates (÷ 60), for what meters by the second. */
  userUnitsPerSecond: number;
  projectUnitsPerSecond: number;
  costs: Readonly<Record<QuotaMethod, number>>;
}

export const QUOTA_PROFILES: Readonly<
  Record<
    QuotaProfileName,
    Pick<GmailQuotaTable, "userUnitsPerMinute" | "projectUnitsPerMinute" | "projectUnitsPerDay">
  >
> = {
  legacy: {
    userUnitsPerMinute: 250 * 60,
    projectUnitsPerMinute: 1_200_000,
    projectUnitsPerDay: 1_000_000_000,
  },
  "2026": { userUnitsPerMinute: 6_000, projectUnitsPerMinute: 1_200_000, projectUnitsPerDay: 80_000_000 },
};

/** The settings as given (environment variable values; undefined = unset). */
export interface QuotaSettingsInput {
  GMAIL_QUOTA_PROFILE?: string | undefined;
  GMAIL_USER_UNITS_PER_MINUTE?: string | undefined;
  GMAIL_PROJECT_UNITS_PER_MINUTE?: string | undefined;
  GMAIL_PROJECT_UNITS_PER_DAY?: string | undefined;
  /** `method:units,…`, e.g. `messages.get:20,threads.get:40`. */
  GMAIL_METHOD_COSTS?: string | undefined;
  /** The older per-second form of the per-minute limits (× 60). */
  GMAIL_USER_UNITS_PER_SECOND?: number | undefined;
  GMAIL_PROJECT_UNITS_PER_SECOND?: number | undefined;
}

/** A quota setting that cannot be used; `variable` names it. */
export class QuotaSettingError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = "QuotaSettingError";
  }
}

/** A method's name as the product or Google's table writes it, or undefined. */
export function quotaMethodOf(name: string): QuotaMethod | undefined {
  if ((QUOTA_METHODS as readonly string[]).includes(name)) return name as QuotaMethod;
  return METHOD_ALIASES[name];
}

/** `method:units,…` → costs over Google's; throws naming GMAIL_METHOD_COSTS. */
export function parseMethodCosts(text: string): Record<QuotaMethod, number> {
  const costs: Record<QuotaMethod, number> = { ...GOOGLE_METHOD_COSTS };
  const fail = (message: string) => new QuotaSettingError("GMAIL_METHOD_COSTS", message);
  for (const item of text.split(",").map((s) => s.trim())) {
    if (item === "") continue;
    const match = /^([A-Za-z.]+):(\d{1,6})$/.exec(item);
    if (!match) throw fail(`"${item}" is not method:units (for example messages.get:20)`);
    const method = quotaMethodOf(match[1]!);
    if (!method) throw fail(`names an unknown method "${match[1]}"; known: ${QUOTA_METHODS.join(", ")}`);
    const units = Number(match[2]);
    if (units < 1) throw fail(`gives ${method} ${units} units; a call costs at least 1`);
    costs[method] = units;
  }
  return costs;
}

function units(variable: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!/^\d{1,13}$/.test(value.trim())) {
    throw new QuotaSettingError(
      variable,
      `must be a whole number of quota units (0 = no limit), not "${value}"`,
    );
  }
  return Number(value.trim());
}

/** One limit from its per-minute variable or its older per-second one; both set is a conflict. */
function limit(
  minuteName: string,
  minuteValue: string | undefined,
  secondName: string,
  secondValue: number | undefined,
  fallback: number,
): [value: number, setBy: string] {
  const perMinute = units(minuteName, minuteValue);
  if (perMinute !== undefined && secondValue !== undefined) {
    throw new QuotaSettingError(minuteName, `and ${secondName} are two forms of one limit; set only one`);
  }
  if (perMinute !== undefined) return [perMinute, minuteName];
  if (secondValue !== undefined) return [secondValue * 60, secondName];
  return [fallback, "GMAIL_QUOTA_PROFILE"];
}

/**
 * The table the settings give: the profile's values (GMAIL_QUOTA_PROFILE, default `2026`), each
 * overridden by its variable, and Google's costs overridden by GMAIL_METHOD_COSTS. A limit that is
 * set must pay for the dearest call at least once, or every sync would wait for ever.
 */
export function resolveQuotaTable(input: QuotaSettingsInput): GmailQuotaTable {
  const name = (input.GMAIL_QUOTA_PROFILE ?? "").trim() || "2026";
  if (!QUOTA_PROFILE_NAMES.includes(name as QuotaProfileName)) {
    throw new QuotaSettingError(
      "GMAIL_QUOTA_PROFILE",
      `must be ${QUOTA_PROFILE_NAMES.join(" or ")}, not "${name}"`,
    );
  }
  const profile = QUOTA_PROFILES[name as QuotaProfileName];
  const costs =
    input.GMAIL_METHOD_COSTS === undefined
      ? { ...GOOGLE_METHOD_COSTS }
      : parseMethodCosts(input.GMAIL_METHOD_COSTS);
  const [user, userSetBy] = limit(
    "GMAIL_USER_UNITS_PER_MINUTE",
    input.GMAIL_USER_UNITS_PER_MINUTE,
    "GMAIL_USER_UNITS_PER_SECOND",
    input.GMAIL_USER_UNITS_PER_SECOND,
    profile.userUnitsPerMinute,
  );
  const [project, projectSetBy] = limit(
    "GMAIL_PROJECT_UNITS_PER_MINUTE",
    input.GMAIL_PROJECT_UNITS_PER_MINUTE,
    "GMAIL_PROJECT_UNITS_PER_SECOND",
    input.GMAIL_PROJECT_UNITS_PER_SECOND,
    profile.projectUnitsPerMinute,
  );
  const day =
    units("GMAIL_PROJECT_UNITS_PER_DAY", input.GMAIL_PROJECT_UNITS_PER_DAY) ?? profile.projectUnitsPerDay;
  const dearest = Math.max(...Object.values(costs));
  for (const [variable, value] of [
    [userSetBy, user],
    [projectSetBy, project],
    ["GMAIL_PROJECT_UNITS_PER_DAY", day],
  ] as const) {
    if (value !== 0 && value < dearest) {
      throw new QuotaSettingError(
        variable,
        `must be 0 (no limit) or at least ${dearest}, the dearest call's cost`,
      );
    }
  }
  return {
    profile: name as QuotaProfileName,
    userUnitsPerMinute: user,
    projectUnitsPerMinute: project,
    projectUnitsPerDay: day,
    userUnitsPerSecond: user / 60,
    projectUnitsPerSecond: project / 60,
    costs,
  };
}

const PACIFIC = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/Los_Angeles",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function pacificParts(ms: number): { y: number; m: number; d: number; wall: number } {
  const p: Record<string, number> = {};
  for (const part of PACIFIC.formatToParts(ms))
    if (part.type !== "literal") p[part.type] = Number(part.value);
  return {
    y: p.year!,
    m: p.month!,
    d: p.day!,
    wall: Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!),
  };
}

/** The Pacific-time date of an instant (`YYYY-MM-DD`): Google counts daily quotas by it. */
export function pacificDay(ms: number): string {
  const { y, m, d } = pacificParts(ms);
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The next midnight in Pacific Time (PST or PDT, whichever holds then), when daily quotas reset. */
export function nextPacificMidnight(ms: number): number {
  const { y, m, d } = pacificParts(ms);
  const midnightWall = Date.UTC(y, m - 1, d + 1);
  const offsetAt = (instant: number) => pacificParts(instant).wall - Math.floor(instant / 1000) * 1000;
  // The offset may change between now and midnight (a DST switch at 02:00 the same night).
  return midnightWall - offsetAt(midnightWall - offsetAt(ms));
}
