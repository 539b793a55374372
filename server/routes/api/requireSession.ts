import type { Request } from "express";
import { ForbiddenError } from "../../../core/errors";

/**
 * Minting tokens and the account actions need the browser session: a token that leaked must not
 * be able to make itself a successor that survives its own revocation, or act for its owner's exit.
 */
export function requireSession(req: Request): void {
  if (req.principal?.via !== "session") {
    throw new ForbiddenError(
      "session_required",
      "Sign in with a browser session to do this; API tokens cannot.",
    );
  }
}
