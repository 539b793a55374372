/**
 * Gmail push: `users.watch` / `users.stop`, and the Cloud Pub/Sub push a watched mailbox's changes
 * cause. Google publishes `{emailAddress, historyId}` to the watch's topic; Pub/Sub's push
 * subscription POSTs it to the endpoint as
 *
 *   {"message":{"data":"<base64 JSON>","messageId":"…","message_id":"…","publishTime":"…",
 *    "publish_time":"…"},"subscription":"projects/…/subscriptions/…"}
 *
 * with `Authorization: Bearer <OIDC token>` that Google signs (RS256; iss https://accounts.google.com,
 * aud the subscription's audience, email the push service account, email_verified true). Here
 * the topic's subscription is the simulator's push setting (endpoint and audience) and the token
 * is signed with the key served at /oauth2/v3/certs, as Google's tokens are signed with the keys
 * at https://www.googleapis.com/oauth2/v3/certs.
 */
import type { IdTokenSigner } from "./identity";

/** Gmail's watch lasts 7 days; apps must call watch again before it lapses. */
export const WATCH_LIFETIME_MS = 7 * 86_400_000;
export const GOOGLE_ISSUER = "https://accounts.google.com";
export const DEFAULT_PUSH_SERVICE_ACCOUNT = "gmail-push@inbox-sync-sim.iam.gserviceaccount.com";
export const DEFAULT_SUBSCRIPTION = "projects/inbox-sync-sim/subscriptions/gmail-push";
const PUSH_TOKEN_LIFETIME_SECONDS = 3600;
const MAX_RECORDED_PUSHES = 10_000;

export interface Watch {
  topicName: string;
  labelIds: string[];
  labelFilterBehavior: "include" | "exclude";
  historyId: number;
  expiration: number;
}

export interface PushSettings {
  /** Where Pub/Sub delivers (the app's webhook); no endpoint = pushes are recorded as undelivered. */
  endpoint: string | null;
  /** The token's `aud`; default the endpoint, as Pub/Sub does when no audience is configured. */
  audience: string | null;
  serviceAccountEmail: string;
  issuer: string;
  subscription: string;
  /**
   * Whether Gmail's push account (gmail-api-push@system.gserviceaccount.com) may publish to the
   * topics: false is a topic whose IAM policy lacks it, and users.watch then fails as Gmail fails it.
   */
  topicPublishable: boolean;
}

export interface PushRecord {
  email: string;
  historyId: number;
  topicName: string;
  endpoint: string | null;
  messageId: string;
  publishTime: string;
  /** HTTP status of the endpoint's answer; 0 = not delivered (no endpoint, or a network error). */
  status: number;
  error?: string;
}

const TOPIC = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export function isTopicName(value: unknown): value is string {
  return typeof value === "string" && TOPIC.test(value);
}

export function parsePushSettings(
  body: Record<string, unknown>,
  current: PushSettings,
): PushSettings | string {
  const known = ["endpoint", "audience", "serviceAccountEmail", "issuer", "subscription", "topicPublishable"];
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) return `Unknown field "${key}"; expected ${known.join(", ")}.`;
  }
  const next = { ...current };
  if (body.endpoint !== undefined) {
    if (
      body.endpoint !== null &&
      (typeof body.endpoint !== "string" ||
        !/^https?:\/\//.test(body.endpoint) ||
        !URL.canParse(body.endpoint))
    ) {
      return "endpoint must be an http(s) URL or null.";
    }
    next.endpoint = body.endpoint as string | null;
  }
  if (body.audience !== undefined) {
    if (body.audience !== null && (typeof body.audience !== "string" || body.audience === "")) {
      return "audience must be a non-empty string or null (null: the endpoint).";
    }
    next.audience = body.audience as string | null;
  }
  if (body.topicPublishable !== undefined) {
    if (typeof body.topicPublishable !== "boolean") return "topicPublishable must be true or false.";
    next.topicPublishable = body.topicPublishable;
  }
  for (const key of ["serviceAccountEmail", "issuer", "subscription"] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.trim() === "") return `${key} must be a non-empty string.`;
    next[key] = value.trim();
  }
  return next;
}

export class PushNotifier {
  settings: PushSettings;
  private readonly watches = new Map<string, Watch>();
  private readonly sent: PushRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private nextMessageId = 1;

  constructor(
    private readonly signer: IdTokenSigner,
    private readonly now: () => number,
    initial: { endpoint?: string; audience?: string } = {},
  ) {
    this.settings = {
      endpoint: initial.endpoint ?? null,
      audience: initial.audience ?? null,
      serviceAccountEmail: DEFAULT_PUSH_SERVICE_ACCOUNT,
      issuer: GOOGLE_ISSUER,
      subscription: DEFAULT_SUBSCRIPTION,
      topicPublishable: true,
    };
  }

  watch(email: string, watch: Omit<Watch, "expiration">): Watch {
    const full = { ...watch, expiration: this.now() + WATCH_LIFETIME_MS };
    this.watches.set(email, full);
    return full;
  }

  stop(email: string): void {
    this.watches.delete(email);
  }

  /** The account's live watch (a lapsed one is gone, as at Gmail). */
  watchOf(email: string): Watch | undefined {
    const watch = this.watches.get(email);
    if (watch && watch.expiration <= this.now()) {
      this.watches.delete(email);
      return undefined;
    }
    return watch;
  }

  /** Moves a watch's expiration (control API: a watch "about to lapse"). */
  setExpiration(email: string, expiration: number): Watch | undefined {
    const watch = this.watches.get(email);
    if (!watch) return undefined;
    watch.expiration = expiration;
    return watch;
  }

  /**
   * A change to `email`'s mailbox touching messages with `labels`: one push if a live watch's
   * label filter admits it (include: the message has one of its labels; exclude: it has none of them).
   */
  changed(email: string, historyId: number, labels: readonly string[]): void {
    const watch = this.watchOf(email);
    if (!watch) return;
    if (watch.labelIds.length > 0) {
      const hit = labels.some((label) => watch.labelIds.includes(label));
      if (watch.labelFilterBehavior === "include" ? !hit : hit) return;
    }
    this.publish(email, historyId, watch.topicName);
  }

  /** Sends one notification now (also used by the control API to make bursts). */
  publish(email: string, historyId: number, topicName: string): PushRecord {
    const messageId = String(10_000_000_000_000 + this.nextMessageId++);
    const publishTime = new Date(this.now()).toISOString();
    const { endpoint } = this.settings;
    const record: PushRecord = { email, historyId, topicName, endpoint, messageId, publishTime, status: 0 };
    this.remember(record);
    if (!endpoint) {
      record.error = "no push endpoint configured";
      return record;
    }
    const data = Buffer.from(JSON.stringify({ emailAddress: email, historyId })).toString("base64");
    const body = JSON.stringify({
      message: { data, messageId, message_id: messageId, publishTime, publish_time: publishTime },
      subscription: this.settings.subscription,
    });
    const delivery = fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${this.token(endpoint)}`,
        "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
      },
      body,
      signal: AbortSignal.timeout(10_000),
    }).then(
      async (res) => {
        record.status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      },
      (error: unknown) => {
        record.error = error instanceof Error ? error.message : String(error);
      },
    );
    const tracked = delivery.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return record;
  }

  /** The OIDC token Pub/Sub attaches to a push. */
  token(endpoint: string): string {
    // Real time, not Gmail's (possibly moved) clock: the receiver checks iat/exp against its own.
    const iat = Math.floor(Date.now() / 1000);
    const email = this.settings.serviceAccountEmail;
    return this.signer.sign({
      aud: this.settings.audience ?? endpoint,
      azp: subFor(email),
      email,
      email_verified: true,
      exp: iat + PUSH_TOKEN_LIFETIME_SECONDS,
      iat,
      iss: this.settings.issuer,
      sub: subFor(email),
    });
  }

  /** Resolves when every push sent so far has been answered (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private remember(record: PushRecord): void {
    if (this.sent.length >= MAX_RECORDED_PUSHES) this.sent.shift();
    this.sent.push(record);
  }

  records(): PushRecord[] {
    return this.sent.map((r) => ({ ...r }));
  }

  clearRecords(): void {
    this.sent.length = 0;
  }

  watchesSnapshot(): Record<string, Watch> {
    const out: Record<string, Watch> = {};
    for (const email of [...this.watches.keys()]) {
      const watch = this.watchOf(email);
      if (watch) out[email] = { ...watch, labelIds: [...watch.labelIds] };
    }
    return out;
  }
}

/** A service account's numeric id, stable per address (Google's `sub` of its tokens). */
function subFor(email: string): string {
  let h = 0n;
  for (const ch of email) h = (h * 131n + BigInt(ch.charCodeAt(0))) % 10n ** 20n;
  return `1${h.toString().padStart(20, "0")}`;
}
