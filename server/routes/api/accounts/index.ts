import { Router } from "express";
import type { AccountHealthView, AccountList } from "../../../../core/contract";
import { AppError, NoWorkersError, QueueUnavailableError } from "../../../../core/errors";
import { gmailWatchOf } from "../../../../core/gmail/watch";
import type { AccountHealth } from "../../../../core/health/accountHealth";
import { AccountHealthService } from "../../../../core/services/AccountHealthService";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { accountHealth, listAccounts, renewWatch, startCheck } from "./schema";

const STREAM = "/api/emails/sync/stream";
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The health view as the API sends it: every instant an ISO string. */
export function healthBody(h: AccountHealth): AccountHealthView {
  return {
    ...h,
    sync: {
      ...h.sync,
      lastAt: iso(h.sync.lastAt),
      lastFull: h.sync.lastFull && { at: h.sync.lastFull.at.toISOString(), reason: h.sync.lastFull.reason },
    },
    push: {
      ...h.push,
      watchedUntil: iso(h.push.watchedUntil),
      lastPushAt: iso(h.push.lastPushAt),
      failingSince: iso(h.push.failingSince),
    },
    messages: { ...h.messages, gmailTotalAt: iso(h.messages.gmailTotalAt) },
    check: h.check && { ...h.check, lastAt: h.check.lastAt.toISOString() },
    quota: h.quota && { ...h.quota, resetsAt: h.quota.resetsAt.toISOString() },
  };
}

/** A person's Gmail accounts and each one's health (docs/health.md). */
export function accountsRoutes(ctx: WebContext): Router {
  const router = Router();
  // Read when used: a routing-only app (the OpenAPI test) builds routes from a context without them.
  const service = () =>
    new AccountHealthService({
      repo: ctx.repos.health,
      quota: ctx.quota,
      watch: gmailWatchOf(ctx),
      markReauthRequired: (userId) => ctx.accounts.markReauthRequired(userId),
      startTask: async (userId, request) => {
        try {
          return await ctx.dispatcher.request(userId, request);
        } catch (err) {
          // No worker can take it: the check is made a stream's task, and the fallback runs that very task.
          if (!(err instanceof NoWorkersError || err instanceof QueueUnavailableError)) throw err;
          const { task } = await ctx.tasks.createOrJoin(userId, "stream", request);
          throw new AppError(err.code, err.message, 503, {
            fallback: `${STREAM}?taskId=${task.id}`,
            taskId: task.id,
          });
        }
      },
    });

  router.get("/accounts", validate(listAccounts), async (req, res) => {
    const accounts = await service().list(userIdOf(req));
    const body: AccountList = {
      accounts: accounts.map((a) => ({ ...a, lastSyncAt: iso(a.lastSyncAt) })),
    };
    res.json(body);
  });

  router.get("/accounts/:id/health", validate(accountHealth), async (req, res) => {
    const { id } = inputOf(req, accountHealth).params;
    res.json(healthBody(await service().health(userIdOf(req), id)));
  });

  router.post("/accounts/:id/check", validate(startCheck), async (req, res) => {
    const { id } = inputOf(req, startCheck).params;
    const { task, joined, options } = await service().startCheck(userIdOf(req), id);
    res.status(202).json({
      taskId: task.id,
      state: task.state,
      statusUrl: `/api/emails/sync/status/${task.id}`,
      joined,
      options,
    });
  });

  router.post("/accounts/:id/watch", validate(renewWatch), async (req, res) => {
    const { id } = inputOf(req, renewWatch).params;
    res.json(healthBody(await service().renewWatch(userIdOf(req), id)));
  });

  return router;
}
