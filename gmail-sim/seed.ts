/**
 * Deterministic mail content. Everything about a message — sender, subject, body, Date header,
 * labels — is a pure function of (seed, account address, content index), computed on demand so a
 * mailbox of 100,000 messages keeps only compact records in memory.
 *
 * Subjects are three words from fixed lists followed by the message's own index, e.g.
 * "Quarterly budget review #0042", so a test can find one particular message. Replies keep the
 * words of the thread's first message and carry their own index: "Re: Quarterly budget review #0041".
 */

import { encodeCharset, leaf, type MimeNode, multipart, serialize, type TransferEncoding } from "./mime";

/** Fixed "now" of seeded mailboxes: index 0 arrived at this instant, older ones before it. */
export const DEFAULT_BASE_TIME = Date.UTC(2025, 10, 27, 17, 0, 0);
/**
 * Seeded mail spans the two years before the base time: each message has an equal slot of that
 * span (whole seconds) and is jittered within it, so "the last 30 days" is a known share of it.
 */
export const SEED_SPAN_MS = 730 * 86_400_000;

export function slotMsFor(count: number): number {
  return Math.max(1000, Math.floor(SEED_SPAN_MS / Math.max(1, count) / 1000) * 1000);
}

// ---------------------------------------------------------------------------------------------
// Hashing: 32-bit, fast, good enough to make content look random and stay reproducible.

export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes two 32-bit values (murmur3's finaliser over a combination of both). */
export function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small PRNG (mulberry32) for drawing several values from one seed. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(list: readonly T[], r: number): T {
  return list[Math.floor(r * list.length) % list.length]!;
}

// Salts: each property of a message draws from its own stream.
const SALT = {
  date: 1,
  labels: 2,
  thread: 3,
  subject: 4,
  sender: 5,
  body: 6,
  messageId: 7,
  id: 8,
  mime: 9,
  attachment: 10,
  threadMix: 11,
} as const;

// ---------------------------------------------------------------------------------------------
// Word lists.

const FIRST_NAMES = [
  "Maria",
  "James",
  "Aisha",
  "Chen",
  "Lukas",
  "Sofia",
  "Daniel",
  "Priya",
  "Omar",
  "Emma",
  "Mateo",
  "Yuki",
  "Noah",
  "Fatima",
  "Liam",
  "Elena",
  "Kwame",
  "Hannah",
  "Ravi",
  "Zoe",
  "Tomas",
  "Ingrid",
  "Diego",
  "Amara",
  "Felix",
  "Nadia",
  "Hugo",
  "Leila",
  "Oscar",
  "Mei",
];
const LAST_NAMES = [
  "Garcia",
  "Smith",
  "Khan",
  "Wang",
  "Muller",
  "Rossi",
  "Kim",
  "Patel",
  "Haddad",
  "Johnson",
  "Silva",
  "Tanaka",
  "Brown",
  "Ali",
  "Novak",
  "Petrov",
  "Mensah",
  "Schmidt",
  "Iyer",
  "Dubois",
  "Larsen",
  "Costa",
  "Nguyen",
  "Okafor",
  "Weber",
  "Haas",
  "Moreau",
  "Rahimi",
  "Berg",
  "Lin",
];
const COMPANY_DOMAINS = [
  "northwind.io",
  "contoso.com",
  "globex.net",
  "initech.co",
  "umbrella-labs.org",
  "hooli.dev",
  "stark-industries.com",
  "wayne-enterprises.com",
  "acme-corp.com",
  "pied-piper.io",
  "gmail.com",
  "outlook.com",
  "fastmail.com",
  "proton.me",
];
interface Service {
  name: string;
  address: string;
}
const UPDATE_SENDERS: Service[] = [
  { name: "GitHub", address: "notifications@github.com" },
  { name: "Linear", address: "notify@linear.app" },
  { name: "Stripe", address: "receipts@stripe.com" },
  { name: "Google Calendar", address: "calendar-notification@google.com" },
  { name: "Jira", address: "jira@northwind.atlassian.net" },
  { name: "AWS Billing", address: "no-reply@aws.amazon.com" },
];
const PROMOTION_SENDERS: Service[] = [
  { name: "Acme Store", address: "deals@acme-store.com" },
  { name: "Contoso Travel", address: "offers@contoso-travel.com" },
  { name: "Globex Books", address: "hello@globexbooks.com" },
  { name: "Initech Outlet", address: "news@initech-outlet.com" },
];
const SOCIAL_SENDERS: Service[] = [
  { name: "LinkedIn", address: "messages-noreply@linkedin.com" },
  { name: "Mastodon", address: "notifications@mastodon.social" },
  { name: "Meetup", address: "info@meetup.com" },
];
const FORUM_SENDERS: Service[] = [
  { name: "rust-users", address: "rust-users@googlegroups.com" },
  { name: "postgres-general", address: "pgsql-general@lists.postgresql.org" },
  { name: "node-dev", address: "node-dev@googlegroups.com" },
];

const SUBJECT_FIRST = [
  "Quarterly",
  "Urgent",
  "Weekly",
  "Updated",
  "Final",
  "Draft",
  "Annual",
  "Monthly",
  "Revised",
  "Pending",
  "Shared",
  "Confidential",
  "Upcoming",
  "Overdue",
  "Approved",
  "Proposed",
  "Internal",
  "Scheduled",
  "Preliminary",
  "Detailed",
];
const SUBJECT_TOPIC = [
  "budget",
  "roadmap",
  "invoice",
  "onboarding",
  "migration",
  "offsite",
  "hiring",
  "security",
  "marketing",
  "release",
  "compliance",
  "infrastructure",
  "partnership",
  "training",
  "design",
  "analytics",
  "procurement",
  "support",
  "catering",
  "travel",
];
const SUBJECT_KIND = [
  "review",
  "plan",
  "summary",
  "report",
  "checklist",
  "meeting",
  "proposal",
  "update",
  "notes",
  "agenda",
  "estimate",
  "feedback",
  "schedule",
  "approval",
  "reminder",
  "retrospective",
];

const SENTENCES = [
  "I went through the numbers again this morning and a few items still need a second look",
  "Could you confirm the timeline before we share it with the wider team",
  "The attached figures reflect the latest changes from finance",
  "Let me know if Thursday afternoon works for a short call",
  "We agreed to revisit this after the next planning cycle",
  "Most of the open questions are answered in the shared document",
  "The vendor sent a revised quote that is slightly lower than before",
  "Please add your comments directly in the draft so we keep everything in one place",
  "I have moved the deadline by one week to give everyone enough time",
  "Thanks again for the quick turnaround on the last version",
  "A couple of people asked for more detail on the rollout steps",
  "The dashboard now shows the weekly totals next to the monthly trend",
  "Nothing here is final yet so feel free to push back",
  "We will send the recording to everyone who could not attend",
  "The new process starts on the first of next month",
  "I flagged two risks that we should discuss before signing off",
];

// ---------------------------------------------------------------------------------------------
// Public API.

export type Category =
  | "CATEGORY_PERSONAL"
  | "CATEGORY_UPDATES"
  | "CATEGORY_PROMOTIONS"
  | "CATEGORY_SOCIAL"
  | "CATEGORY_FORUMS";

/** User labels every seeded mailbox has. */
export const SEEDED_USER_LABELS: readonly {
  id: string;
  name: string;
  color?: { textColor: string; backgroundColor: string };
}[] = [
  { id: "Label_1", name: "Receipts", color: { textColor: "#ffffff", backgroundColor: "#16a766" } },
  { id: "Label_2", name: "Travel", color: { textColor: "#ffffff", backgroundColor: "#4a86e8" } },
  { id: "Label_3", name: "Projects/Atlas" },
];

export interface SeedContext {
  readonly seed: string;
  readonly email: string;
  readonly base: number;
  readonly baseTime: number;
  readonly displayName: string;
  /** Spacing of seeded messages (ms): the two-year span shared by the account's seeded count. */
  readonly slotMs: number;
}

export function createSeedContext(
  seed: string,
  email: string,
  baseTime = DEFAULT_BASE_TIME,
  count = 1,
): SeedContext {
  const local = email.split("@")[0] ?? email;
  const displayName = local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(" ");
  return {
    seed,
    email,
    base: hashString(`${seed}\u0000${email}`),
    baseTime,
    displayName,
    slotMs: slotMsFor(count),
  };
}

/** The seeded internalDate (ms) of message `index`; strictly decreasing with the index. */
export function seededInternalDate(ctx: SeedContext, index: number): number {
  // Index 0 keeps the base time's neighbourhood (at most 47 minutes before it), as it always had.
  const jitterSeconds = mix(ctx.base ^ SALT.date, index) % (Math.min(ctx.slotMs, 47 * 60_000) / 1000);
  return ctx.baseTime - index * ctx.slotMs - jitterSeconds * 1000;
}

/** Whether seeded message `index` continues the thread of the next older message. */
export function seededIsReply(ctx: SeedContext, index: number): boolean {
  return mix(ctx.base ^ SALT.thread, index) % 100 < 22;
}

/**
 * How many messages a thread of the `mixed` mailbox holds, per thousand threads: most are one to
 * three messages, a few run to twenty (mean about 2.7 messages a thread).
 */
export const MIXED_THREAD_SIZES: readonly number[] = [
  0, 450, 220, 120, 60, 40, 25, 20, 15, 10, 8, 6, 5, 4, 4, 3, 3, 2, 2, 2, 1,
];

/** Open threads past which a `mixed` mailbox's next message is nearly always a reply. */
const MIXED_OPEN_THREADS = 8;

/**
 * A `mixed` mailbox's threads: for each seeded message index, the index of its thread's first
 * message (itself when it starts a thread). Walked from the oldest message: each starts a thread
 * of a size drawn from MIXED_THREAD_SIZES, or answers one of the threads still open, so replies
 * interleave with other mail as they do in a real inbox and a long thread spans a few hundred
 * messages. Threads still open at the newest message are left shorter.
 */
export function mixedThreadRoots(ctx: SeedContext, count: number): Int32Array {
  const roots = new Int32Array(count);
  const open: Array<{ root: number; left: number }> = [];
  for (let index = count - 1; index >= 0; index--) {
    const r = mix(ctx.base ^ SALT.threadMix, index) % 1000;
    // 633 in 1000 answers keep supply and demand of replies level at the mean size above.
    const replies = open.length > 0 && (open.length >= MIXED_OPEN_THREADS ? r < 950 : r < 633);
    if (replies) {
      const at = mix(ctx.base ^ SALT.threadMix, index + count) % open.length;
      const thread = open[at]!;
      roots[index] = thread.root;
      if (--thread.left === 0) open.splice(at, 1);
      continue;
    }
    roots[index] = index;
    let draw = mix(ctx.base ^ SALT.threadMix, index + 2 * count) % 1000;
    let size = 1;
    while (size < MIXED_THREAD_SIZES.length - 1 && draw >= MIXED_THREAD_SIZES[size]!) {
      draw -= MIXED_THREAD_SIZES[size]!;
      size++;
    }
    if (size > 1) open.push({ root: index, left: size - 1 });
  }
  return roots;
}

export function categoryOf(ctx: SeedContext, index: number): Category {
  const r = mix(ctx.base ^ SALT.sender, index) % 100;
  if (r < 40) return "CATEGORY_PERSONAL";
  if (r < 65) return "CATEGORY_UPDATES";
  if (r < 83) return "CATEGORY_PROMOTIONS";
  if (r < 94) return "CATEGORY_SOCIAL";
  return "CATEGORY_FORUMS";
}

/**
 * Labels of a seeded message. `index` 0 is the newest: newer mail is more often unread; some is
 * archived (no INBOX). Nothing is seeded into SPAM or TRASH, so an account of `count` messages
 * lists exactly `count` (Gmail's list hides spam and trash); tests move messages there through
 * the labels control route.
 */
export function seededLabels(ctx: SeedContext, index: number): string[] {
  const next = rng(mix(ctx.base ^ SALT.labels, index));
  const category = categoryOf(ctx, index);
  const where = next();
  const labels: string[] = [];
  if (where < 0.88) labels.push("INBOX");
  const unreadChance = index < 50 ? 0.6 : 0.18;
  if (next() < unreadChance) labels.push("UNREAD");
  if (next() < (category === "CATEGORY_PERSONAL" ? 0.35 : 0.08)) labels.push("IMPORTANT");
  if (next() < 0.05) labels.push("STARRED");
  const user = next();
  if (user < 0.04) labels.push("Label_1");
  else if (user < 0.06) labels.push("Label_2");
  else if (user < 0.08) labels.push("Label_3");
  labels.push(category);
  return labels;
}

/** The three subject words of a message (for replies, those of the thread's first message). */
export function subjectWords(ctx: SeedContext, index: number): string {
  const next = rng(mix(ctx.base ^ SALT.subject, index));
  const first = pick(SUBJECT_FIRST, next());
  const topic = pick(SUBJECT_TOPIC, next());
  const kind = pick(SUBJECT_KIND, next());
  return `${first} ${topic} ${kind}`;
}

export function indexTag(index: number): string {
  return `#${String(index).padStart(4, "0")}`;
}

export interface Address {
  name: string;
  address: string;
}

export function senderOf(ctx: SeedContext, index: number): Address {
  const next = rng(mix(ctx.base ^ (SALT.sender * 7919), index));
  switch (categoryOf(ctx, index)) {
    case "CATEGORY_UPDATES":
      return pick(UPDATE_SENDERS, next());
    case "CATEGORY_PROMOTIONS":
      return pick(PROMOTION_SENDERS, next());
    case "CATEGORY_SOCIAL":
      return pick(SOCIAL_SENDERS, next());
    case "CATEGORY_FORUMS":
      return pick(FORUM_SENDERS, next());
    default: {
      const first = pick(FIRST_NAMES, next());
      const last = pick(LAST_NAMES, next());
      const domain = pick(COMPANY_DOMAINS, next());
      return { name: `${first} ${last}`, address: `${first}.${last}@${domain}`.toLowerCase() };
    }
  }
}

export function formatAddress(a: Address): string {
  return /[",.<>@()]/.test(a.name) ? `"${a.name}" <${a.address}>` : `${a.name} <${a.address}>`;
}

function messageIdHeader(ctx: SeedContext, index: number, domain: string): string {
  const a = mix(ctx.base ^ SALT.messageId, index).toString(36);
  const b = mix(ctx.base ^ (SALT.messageId * 31), index).toString(36);
  return `<CA${a}${b}.${index}@mail.${domain}>`;
}

/** Deterministic 20 bits used to make message ids unique and Gmail-looking. */
export function idSuffix(ctx: SeedContext, seq: number): string {
  return (mix(ctx.base ^ SALT.id, seq) & 0xfffff).toString(16).padStart(5, "0");
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const OFFSETS_MINUTES = [0, -480, -300, 60, 120, 330, 540, -240];

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** RFC 2822 date of `ms` in a time zone `offsetMinutes` east of UTC, e.g. "Tue, 25 Nov 2025 09:03:12 -0500". */
export function rfc2822Date(ms: number, offsetMinutes = 0): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(
    d.getUTCHours(),
  )}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
}

export interface Header {
  name: string;
  value: string;
}

export interface MessageContent {
  headers: Header[];
  subject: string;
  from: Address;
  snippet: string;
  text: string;
  html: string;
  boundary: string;
  /** The RFC 822 message, one character per byte (latin1). */
  raw: string;
  /** The MIME tree the raw message serialises. */
  root: MimeNode;
  /** Which body variants it has (seeded messages; empty for messages added as raw RFC 822). */
  features: readonly string[];
}

export interface ContentSpec {
  /** Which content to generate (seeded messages: their index; later arrivals: the next free index). */
  index: number;
  /** Index of the thread's first message (the same as `index` for a message starting a thread). */
  rootIndex: number;
  internalDate: number;
}

function bodySentences(ctx: SeedContext, index: number): string[] {
  const next = rng(mix(ctx.base ^ SALT.body, index));
  const count = 3 + Math.floor(next() * 4);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`${pick(SENTENCES, next())}.`);
  return out;
}

/** What search looks at: subject, sender and snippet, without building the whole message. */
export function summarize(
  ctx: SeedContext,
  spec: ContentSpec,
): { subject: string; from: Address; snippet: string } {
  const { index, rootIndex } = spec;
  const subject = `${rootIndex !== index ? "Re: " : ""}${subjectWords(ctx, rootIndex)} ${indexTag(index)}`;
  const sentences = bodySentences(ctx, index);
  const greeting = `Hi ${ctx.displayName.split(" ")[0] || "there"},`;
  const firstLine = `About the ${subjectWords(ctx, rootIndex).toLowerCase()} (${indexTag(index)}):`;
  const snippet = `${greeting} ${firstLine} ${sentences.join(" ")}`.slice(0, 160).trimEnd();
  return { subject, from: senderOf(ctx, index), snippet };
}

/** Builds the whole message: headers, text and HTML bodies, snippet and the raw RFC 822 form. */
export function generateContent(ctx: SeedContext, spec: ContentSpec): MessageContent {
  const { index, rootIndex, internalDate } = spec;
  const from = senderOf(ctx, index);
  const isReply = rootIndex !== index;
  const subject = `${isReply ? "Re: " : ""}${subjectWords(ctx, rootIndex)} ${indexTag(index)}`;
  const domain = from.address.split("@")[1] ?? "example.com";
  const offset = OFFSETS_MINUTES[mix(ctx.base ^ SALT.date, index * 3 + 1) % OFFSETS_MINUTES.length]!;
  const to = ctx.displayName ? formatAddress({ name: ctx.displayName, address: ctx.email }) : ctx.email;

  const sentences = bodySentences(ctx, index);
  const greeting = `Hi ${ctx.displayName.split(" ")[0] || "there"},`;
  const firstLine = `About the ${subjectWords(ctx, rootIndex).toLowerCase()} (${indexTag(index)}):`;
  const signature = from.name;
  const text = `${greeting}\r\n\r\n${firstLine} ${sentences.join(" ")}\r\n\r\nBest,\r\n${signature}\r\n`;
  const html = `<div dir="ltr"><p>${greeting}</p><p>${firstLine} ${sentences.join(
    " ",
  )}</p><p>Best,<br>${signature}</p></div>\r\n`;
  const snippet = `${greeting} ${firstLine} ${sentences.join(" ")}`.slice(0, 160).trimEnd();

  const boundary = `000000000000${mix(ctx.base ^ SALT.messageId, index * 5 + 3)
    .toString(16)
    .padStart(8, "0")}${(index % 0xffff).toString(16).padStart(4, "0")}`;
  const features = mimeFeatures(ctx, index);
  const headers: Header[] = [
    { name: "MIME-Version", value: "1.0" },
    { name: "Date", value: rfc2822Date(internalDate, offset) },
    { name: "Message-ID", value: messageIdHeader(ctx, index, domain) },
  ];
  if (isReply) {
    const rootFrom = senderOf(ctx, rootIndex);
    const rootId = messageIdHeader(ctx, rootIndex, rootFrom.address.split("@")[1] ?? "example.com");
    headers.push({ name: "In-Reply-To", value: rootId }, { name: "References", value: rootId });
  }
  headers.push(
    { name: "Subject", value: subject },
    { name: "From", value: formatAddress(from) },
    { name: "To", value: to },
  );

  // The body variants: the plain case is exactly the message the simulator always sent.
  let textBody = text;
  let htmlBody = html;
  let charset = "UTF-8";
  let textEncoding: TransferEncoding = "7bit";
  let htmlEncoding: TransferEncoding = "7bit";
  if (features.includes("iso-8859-1")) {
    charset = "ISO-8859-1";
    textBody = text.replace("\r\n\r\nBest,", `\r\n\r\n${LATIN1_LINE}\r\n\r\nBest,`);
    htmlBody = html.replace("<p>Best,", `<p>${LATIN1_LINE}</p><p>Best,`);
    textEncoding = "quoted-printable";
    htmlEncoding = "quoted-printable";
  } else if (features.includes("windows-1252")) {
    charset = "windows-1252";
    textBody = text.replace("\r\n\r\nBest,", `\r\n\r\n${CP1252_LINE}\r\n\r\nBest,`);
    htmlBody = html.replace("<p>Best,", `<p>${CP1252_LINE}</p><p>Best,`);
    textEncoding = "quoted-printable";
    htmlEncoding = "base64";
  } else if (features.includes("base64")) {
    textBody = text.replace("\r\n\r\nBest,", `\r\n\r\n${UTF8_LINE}\r\n\r\nBest,`);
    htmlBody = html.replace("<p>Best,", `<p>${UTF8_LINE}</p><p>Best,`);
    textEncoding = "base64";
    htmlEncoding = "base64";
  }
  if (features.includes("hostile-html")) {
    htmlBody = htmlBody.replace(
      "</div>",
      `<script>document.title="script ran ${indexTag(index)}";</script>` +
        `<img src="x" onerror="document.title='onerror ran'" alt="">` +
        `<p><img src="https://images.example.net/banner/${index}.png" alt="Banner" width="600" height="120"></p></div>`,
    );
  }
  const alternative = multipart("multipart/alternative", boundary, [
    leaf({ mimeType: "text/plain", charset, encoding: textEncoding, data: encodeCharset(textBody, charset) }),
    leaf({ mimeType: "text/html", charset, encoding: htmlEncoding, data: encodeCharset(htmlBody, charset) }),
  ]);
  let root: MimeNode;
  if (features.includes("attachment")) {
    const file = seededAttachment(ctx, index);
    const mixedBoundary = `${boundary.slice(0, -4)}${((index + 1) % 0xffff).toString(16).padStart(4, "0")}`;
    root = multipart("multipart/mixed", mixedBoundary, [
      alternative,
      leaf({ mimeType: file.mimeType, encoding: "base64", data: file.data, filename: file.filename }),
    ]);
  } else root = alternative;
  root.headers = [...headers, ...root.headers];
  const raw = serialize(root).toString("latin1");
  return {
    headers: root.headers,
    subject,
    from,
    snippet,
    text: textBody,
    html: htmlBody,
    boundary,
    raw,
    root,
    features,
  };
}

/** Lines that only survive a charset decoded right (the test of a non-UTF-8 message). */
export const LATIN1_LINE = "Grüße aus Köln, à bientôt: café crème für 12½ Franken, ça coûte 3 £.";
export const CP1252_LINE = "Le café coûte 5 € – “très” cher… n’est-ce pas?";
export const UTF8_LINE = "Naïve façade ✓ — 東京 office, Zürich team.";

export type MimeFeature = "iso-8859-1" | "windows-1252" | "base64" | "hostile-html" | "attachment";

/**
 * Which body variants message `index` has, drawn from the seed: about 10% ISO-8859-1 in
 * quoted-printable, 10% windows-1252 (text quoted-printable, HTML base64), 10% UTF-8 in base64,
 * 10% an HTML body with a script, an onerror handler and a remote image, 15% an attachment.
 */
export function mimeFeatures(ctx: SeedContext, index: number): MimeFeature[] {
  const next = rng(mix(ctx.base ^ SALT.mime, index));
  const out: MimeFeature[] = [];
  const charset = next();
  if (charset < 0.1) out.push("iso-8859-1");
  else if (charset < 0.2) out.push("windows-1252");
  else if (charset < 0.3) out.push("base64");
  if (next() < 0.1) out.push("hostile-html");
  if (next() < 0.15) out.push("attachment");
  return out;
}

const ATTACHMENT_KINDS = [
  { ext: "pdf", mimeType: "application/pdf", magic: "%PDF-1.4\n" },
  { ext: "png", mimeType: "image/png", magic: "\x89PNG\r\n\x1a\n" },
  { ext: "csv", mimeType: "text/csv", magic: "date,item,amount\n" },
] as const;

/** A seeded attachment: a name, a type and 1–16 KiB of bytes, all from the seed. */
export function seededAttachment(
  ctx: SeedContext,
  index: number,
): { filename: string; mimeType: string; data: Buffer } {
  const next = rng(mix(ctx.base ^ SALT.attachment, index));
  const kind = ATTACHMENT_KINDS[Math.floor(next() * ATTACHMENT_KINDS.length) % ATTACHMENT_KINDS.length]!;
  const size = 1024 + Math.floor(next() * 15 * 1024);
  const data = Buffer.alloc(size);
  const magic = Buffer.from(kind.magic, "latin1");
  magic.copy(data);
  for (let i = magic.length; i < size; i++) data[i] = Math.floor(next() * 256);
  const name = subjectWords(ctx, index).split(" ")[1] ?? "file";
  return { filename: `${name}-${String(index).padStart(4, "0")}.${kind.ext}`, mimeType: kind.mimeType, data };
}
