import { describe, expect, it } from "vitest";
import { classifyGmailError } from "./gmailCall";

/** A failure the way googleapis (gaxios) throws it: the HTTP status and Google's error body. */
function gaxios(status: number, data?: unknown) {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    status,
    response: { status, headers: {}, data },
  });
}

/** Google's JSON error body, with its first `errors[].reason`. */
const reason = (r: string) => ({ error: { code: 0, message: r, errors: [{ reason: r }] } });

/** A socket-level failure: Node's error code, no HTTP answer at all. */
function network(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code });
}

describe("classifyGmailError: what a failed Gmail call means for the sync", () => {
  it("401 and a refused grant at the token endpoint mean the user must connect Gmail again", () => {
    expect(classifyGmailError(gaxios(401, reason("authError")))).toBe("reauth");
    expect(classifyGmailError(gaxios(400, { error: "invalid_grant" }))).toBe("reauth");
    expect(classifyGmailError(gaxios(401, { error: "unauthorized_client" }))).toBe("reauth");
  });

  it("403 for a scope the user unticked on the consent screen is reauth, not a retry", () => {
    expect(classifyGmailError(gaxios(403, reason("insufficientPermissions")))).toBe("reauth");
    expect(classifyGmailError(gaxios(403, reason("ACCESS_TOKEN_SCOPE_INSUFFICIENT")))).toBe("reauth");
  });

  it("429 and every 5xx are retried", () => {
    for (const status of [429, 500, 502, 503, 504]) expect(classifyGmailError(gaxios(status))).toBe("retry");
  });

  it("403 with one of Google's rate or backend reasons is retried", () => {
    for (const r of ["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"]) {
      expect(classifyGmailError(gaxios(403, reason(r)))).toBe("retry");
    }
  });

  it("any other 403 (a domain policy, a disabled API) is fatal: retrying cannot help", () => {
    expect(classifyGmailError(gaxios(403, reason("domainPolicy")))).toBe("fatal");
    expect(classifyGmailError(gaxios(403))).toBe("fatal");
  });

  it("404 is left to the caller (a message deleted between list and get)", () => {
    expect(classifyGmailError(gaxios(404, reason("notFound")))).toBe("not_found");
  });

  it("other 4xx answers are fatal", () => {
    for (const status of [400, 405, 409, 413]) expect(classifyGmailError(gaxios(status))).toBe("fatal");
  });

  it("the status may come as a numeric or numeric-string code when there is no response", () => {
    expect(classifyGmailError({ code: 503, message: "x" })).toBe("retry");
    expect(classifyGmailError({ code: "429", message: "x" })).toBe("retry");
    expect(classifyGmailError({ code: "401", message: "x" })).toBe("reauth");
    expect(classifyGmailError({ code: "404", message: "x" })).toBe("not_found");
  });

  it("network faults with no HTTP answer are retried, by Node code or by message", () => {
    for (const code of [
      "ECONNRESET",
      "ECONNREFUSED",
      "ETIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "EAI_AGAIN",
      "UND_ERR_SOCKET",
    ]) {
      expect(classifyGmailError(network(code))).toBe("retry");
    }
    expect(classifyGmailError(new Error("socket hang up"))).toBe("retry");
    expect(classifyGmailError(new Error("network timeout at: https://gmail.googleapis.com/"))).toBe("retry");
  });

  it("anything else (a bug, a parse error, a thrown string) is fatal, never retried forever", () => {
    expect(classifyGmailError(new TypeError("Cannot read properties of undefined"))).toBe("fatal");
    expect(classifyGmailError(network("ERR_INVALID_ARG_TYPE", "bad argument"))).toBe("fatal");
    expect(classifyGmailError("boom")).toBe("fatal");
    expect(classifyGmailError({})).toBe("fatal");
  });
});
