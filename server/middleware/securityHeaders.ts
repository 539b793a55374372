import type { NextFunction, Request, RequestHandler, Response } from "express";
import helmet from "helmet";
import type { Config } from "../../core/config";

type Directives = Record<string, string[]>;

/**
 * The browser app's policy. Its script, stylesheet and Socket.IO connection are all same-origin
 * ('self' covers ws:/wss: to the same host in CSP Level 3 browsers), and it sets no inline style
 * or script: a progress bar's width is set through element.style, which CSP does not govern.
 */
export const APP_CSP: Directives = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  // A message's frame (an <iframe sandbox srcdoc>) inherits this policy: inline (data:) images,
  // and https: images once the reader presses "Show remote images" (the frame's own CSP blocks
  // them until then). The app itself shows no image from elsewhere.
  "img-src": ["'self'", "data:", "https:"],
  "connect-src": ["'self'"],
  "font-src": ["'self'"],
  "base-uri": ["'self'"],
  "form-action": ["'self'"],
  "object-src": ["'none'"],
  "frame-ancestors": ["'none'"],
};

/**
 * Bull Board's page (@bull-board/ui) needs one exception, found in Chromium: inline styles. Its
 * loading placeholder has style attributes and a <style> element, and its React bundle injects
 * <style> elements as it renders. Scripts stay 'self'. Its Google Fonts stylesheet stays blocked:
 * the dashboard falls back to the system font, and admins' browsers tell Google nothing.
 */
export const ADMIN_CSP: Directives = {
  ...APP_CSP,
  "style-src": ["'self'", "'unsafe-inline'"],
  // No message frames here: images stay our own.
  "img-src": ["'self'"],
};

/**
 * The API reference page (/api/docs, Scalar) needs the same one exception, found in Chromium:
 * its Vue components render <style> elements and style attributes. Scripts stay 'self' (the
 * page's own configuration is a script file, not an inline one).
 */
export const DOCS_CSP: Directives = {
  ...APP_CSP,
  "style-src": ["'self'", "'unsafe-inline'"],
  "img-src": ["'self'"],
};

function directives(config: Pick<Config, "env">, policy: Directives): Directives {
  // Over https every subresource must stay on https; over http (dev) the directive would break the page.
  return config.env === "production" ? { ...policy, "upgrade-insecure-requests": [] } : policy;
}

/**
 * Every response's headers (helmet): the CSP above, no framing, no MIME sniffing, same-origin
 * referrers and resource policy, and HSTS in production, where PUBLIC_URL is https.
 */
export function securityHeaders(config: Pick<Config, "env">): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: directives(config, APP_CSP) },
    strictTransportSecurity:
      config.env === "production" ? { maxAge: 365 * 86_400, includeSubDomains: false } : false,
    referrerPolicy: { policy: "same-origin" },
    xFrameOptions: { action: "deny" },
  });
}

/** Replaces the app's CSP with Bull Board's, for the dashboard's routes only. */
export function adminContentSecurityPolicy(config: Pick<Config, "env">): RequestHandler {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: directives(config, ADMIN_CSP) });
}

/** Replaces the app's CSP with the API reference page's (DOCS_CSP), for /api/docs only. */
export function docsContentSecurityPolicy(config: Pick<Config, "env">): RequestHandler {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: directives(config, DOCS_CSP) });
}

/**
 * Every answer under /api is one user's mail, tokens or tasks, built for that request: no cache
 * may keep it (a shared computer's disk, a proxy). Set once here, before authentication, so
 * errors carry it too.
 */
export function privateAnswers(_req: Request, res: Response, next: NextFunction): void {
  res.set("Cache-Control", "private, no-store");
  next();
}
