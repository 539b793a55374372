import { z } from "zod";
import { error, noContent, route } from "../api/route";

/**
 * A Cloud Pub/Sub push (https://cloud.google.com/pubsub/docs/push): the message's `data` is
 * base64 of Gmail's `{"emailAddress": …, "historyId": …}`. Pub/Sub writes each id in both cases;
 * unknown fields are accepted, as Pub/Sub adds some (`attributes`, `deliveryAttempt`…).
 */
export const PushEnvelope = z
  .object({
    message: z.looseObject({
      data: z
        .string()
        .min(1)
        .max(4096)
        .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, "must be base64"),
      messageId: z.string().max(256).optional(),
      message_id: z.string().max(256).optional(),
    }),
    subscription: z.string().max(1024).optional(),
  })
  .loose()
  .meta({ id: "PubSubPush" });

/** What Gmail publishes: the mailbox and its history id at the change (a number; its guide shows a string). */
export const GmailNotification = z.object({
  emailAddress: z.string().trim().min(3).max(320).pipe(z.email()),
  historyId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]),
});

export const gmailPush = route({
  method: "post",
  path: "/webhooks/gmail",
  tag: "sync",
  auth: "none",
  summary: "Gmail push through Cloud Pub/Sub: a watched mailbox changed; its owner gets a debounced sync",
  description:
    "Needs `Authorization: Bearer <OIDC token>` as Pub/Sub attaches to an authenticated push: RS256 " +
    "signed by Google (GMAIL_PUSH_JWKS_URL), `iss` accounts.google.com, `aud` GMAIL_PUSH_AUDIENCE, " +
    "unexpired, and `email` GMAIL_PUSH_SERVICE_ACCOUNT when set. Any 2xx acknowledges the message; " +
    "Pub/Sub retries the others with backoff. Each `messageId` is acted on once: one seen in the last " +
    "70 minutes (the token's life and its clock skew) is acknowledged and ignored, so a captured push " +
    "cannot be replayed. Served only while GMAIL_PUSH_TOPIC is set.",
  body: PushEnvelope,
  codes: { message: "invalid_push" },
  responses: {
    204: noContent(
      "Acknowledged: a sync is queued (debounced) for the mailbox's owner, nobody here syncs that address, or the messageId was seen already (a replay: nothing is done)",
    ),
    400: error("invalid_json or invalid_push: not a Pub/Sub push of a Gmail notification, or no messageId"),
    401: error(
      "invalid_push_token: the bearer token is missing, forged, expired, for another audience or from another sender",
    ),
    404: error("not_found: push is off (GMAIL_PUSH_TOPIC unset)"),
    413: error("payload_too_large: bodies are capped at 64 kB"),
    429: {
      ...error("rate_limited: too many pushes from this address (RATE_LIMIT_GMAIL_PUSH)"),
      headers: { "Retry-After": "Seconds to wait" },
    },
    503: error(
      "google_unavailable (Google's signing keys could not be fetched) or queue_unavailable (the queue or Redis cannot be reached); Pub/Sub retries",
    ),
  },
});
