/**
 * Error bodies exactly as Google's servers write them: the Gmail API's JSON error envelope, the
 * OAuth2 endpoints' flat `{error, error_description}`, and the simulator's own control-API shape.
 */

export interface GoogleErrorItem {
  message: string;
  domain: string;
  reason: string;
  location?: string;
  locationType?: string;
}

export interface GoogleErrorBody {
  error: { code: number; message: string; errors: GoogleErrorItem[]; status: string };
}

export interface ApiError {
  httpStatus: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function googleError(
  code: number,
  message: string,
  reason: string,
  status: string,
  extra: Partial<GoogleErrorItem> = {},
): GoogleErrorBody {
  return { error: { code, message, errors: [{ message, domain: "global", reason, ...extra }], status } };
}

function api(code: number, body: GoogleErrorBody, headers?: Record<string, string>): ApiError {
  return headers ? { httpStatus: code, body, headers } : { httpStatus: code, body };
}

export const gmailErrors = {
  unauthenticated(): ApiError {
    return api(
      401,
      {
        error: {
          code: 401,
          message:
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
          errors: [
            {
              message: "Invalid Credentials",
              domain: "global",
              reason: "authError",
              location: "Authorization",
              locationType: "header",
            },
          ],
          status: "UNAUTHENTICATED",
        },
      },
      { "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
    );
  },
  insufficientScope(): ApiError {
    return api(
      403,
      googleError(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        "PERMISSION_DENIED",
      ),
    );
  },
  delegationDenied(userId: string): ApiError {
    return api(403, googleError(403, `Delegation denied for ${userId}`, "forbidden", "PERMISSION_DENIED"));
  },
  /** users.watch on a topic Gmail's push account may not publish to (its IAM policy lacks it). */
  topicNotPublishable(topicName: string): ApiError {
    return api(
      403,
      googleError(
        403,
        `Error sending test message to Cloud PubSub ${topicName} : User not authorized to perform this action.`,
        "forbidden",
        "PERMISSION_DENIED",
      ),
    );
  },
  notFound(message = "Requested entity was not found."): ApiError {
    return api(404, googleError(404, message, "notFound", "NOT_FOUND"));
  },
  invalidArgument(message: string): ApiError {
    return api(400, googleError(400, message, "invalidArgument", "INVALID_ARGUMENT"));
  },
  rateLimited(): ApiError {
    return api(
      429,
      googleError(429, "Too many concurrent requests for user.", "rateLimitExceeded", "RESOURCE_EXHAUSTED"),
    );
  },
  userRateLimited(): ApiError {
    return api(
      429,
      googleError(429, "User-rate limit exceeded.", "userRateLimitExceeded", "RESOURCE_EXHAUSTED", {
        domain: "usageLimits",
      }),
    );
  },
  projectRateLimited(): ApiError {
    return api(
      429,
      googleError(
        429,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.",
        "rateLimitExceeded",
        "RESOURCE_EXHAUSTED",
        { domain: "usageLimits" },
      ),
    );
  },
  /**
   * A call refused for quota. Google's error guide answers the usage limits with 403 and
   * `domain: "usageLimits"`; a project whose limits answer 429 gets RESOURCE_EXHAUSTED. A daily
   * limit is always 403. None carries `Retry-After`: Google promises a time to retry only for its
   * mail-sending and bandwidth limits, not for these.
   */
  quotaRefused(
    reason: "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded",
    status: 403 | 429,
  ): ApiError {
    if (reason !== "dailyLimitExceeded" && status === 429) {
      return reason === "userRateLimitExceeded"
        ? gmailErrors.userRateLimited()
        : gmailErrors.projectRateLimited();
    }
    const message = {
      userRateLimitExceeded: "User Rate Limit Exceeded",
      rateLimitExceeded: "Rate Limit Exceeded",
      dailyLimitExceeded: "Daily Limit Exceeded",
    }[reason];
    return api(403, googleError(403, message, reason, "PERMISSION_DENIED", { domain: "usageLimits" }));
  },
  backendError(): ApiError {
    return api(500, googleError(500, "Backend Error", "backendError", "INTERNAL"));
  },
  unavailable(): ApiError {
    return api(503, googleError(503, "The service is currently unavailable.", "backendError", "UNAVAILABLE"));
  },
};

/** The OAuth2 endpoints answer `{"error":"invalid_grant","error_description":"…"}`. */
export function oauthError(
  error: string,
  description?: string,
): { error: string; error_description?: string } {
  return description === undefined ? { error } : { error, error_description: description };
}

/** The simulator's own control API: `{"error":{"code":"snake_case","message":"…"}}`. */
export function controlError(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
