import { Router } from "express";
import { ForbiddenError, NotFoundError, ReauthRequiredError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { getAttachment, getEmail, listEmails } from "./schema";

/** A download's retries stay short: someone is waiting on the other end of the request. */
const DOWNLOAD_RETRY = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2_000 };

/** A media type as RFC 9110 spells one, without parameters; anything else is served as bytes. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

export function contentTypeOf(mimeType: string): string {
  const bare = mimeType.split(";")[0]!.trim().toLowerCase();
  return MEDIA_TYPE.test(bare) ? bare : "application/octet-stream";
}

/**
 * RFC 6266 with RFC 8187's `filename*` for the real name, and a plain-ASCII `filename` for old
 * clients. Path separators, quotes and controls never reach the header.
 */
export function contentDisposition(filename: string): string {
  const name =
    [...filename]
      .map((c) => (c < " " || c === "\u007f" || c === "/" || c === "\\" ? "_" : c))
      .join("")
      .trim() || "attachment";
  const ascii = name.replace(/[^\x20-\x7e]|["%;]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export function emailRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/emails", validate(listEmails), async (req, res) => {
    const { limit, cursor, q, label, threadId } = inputOf(req, listEmails).query;
    res.json(
      await ctx.emails.list(userIdOf(req), {
        limit,
        cursor: cursor || undefined,
        q: q ? q.replaceAll("\u0000", "") || undefined : undefined,
        label,
        threadId,
      }),
    );
  });

  router.get("/emails/:id", validate(getEmail), async (req, res) => {
    const email = await ctx.emails.get(userIdOf(req), inputOf(req, getEmail).params.id);
    if (!email) throw new NotFoundError("email");
    res.json(email);
  });

  router.get("/emails/:id/attachments/:attachmentId", validate(getAttachment), async (req, res) => {
    const userId = userIdOf(req);
    const { id, attachmentId } = inputOf(req, getAttachment).params;
    const left = new AbortController();
    res.on("close", () => left.abort());
    let file: Awaited<ReturnType<typeof ctx.emails.attachment>>;
    try {
      file = await ctx.emails.attachment(userId, id, attachmentId, async () => ({
        gmail: await ctx.accounts.gmailFor(userId),
        quota: ctx.quota?.forUser(userId),
        retry: DOWNLOAD_RETRY,
        signal: left.signal,
      }));
    } catch (err) {
      // A 401 would tell the browser its session ended; it is Gmail's grant that did.
      if (err instanceof ReauthRequiredError) throw new ForbiddenError(err.code, err.message);
      throw err;
    }
    // setHeader, not res.set: Express would add "; charset=utf-8" to text types, a guess about
    // bytes it has not read.
    res.setHeader("Content-Type", contentTypeOf(file.mimeType));
    res
      .status(200)
      .set({
        "Content-Length": String(file.data.length),
        "Content-Disposition": contentDisposition(file.filename),
        "X-Content-Type-Options": "nosniff",
        // Should anything render it anyway (an old browser, a proxy), it runs nothing and loads nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
      })
      .end(file.data);
  });

  return router;
}
