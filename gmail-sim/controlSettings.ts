/**
 * The control API's simulator-wide resources: faults, quota, batch refusal, stats, push settings
 * and the clock. Each answers GET with its current value, PUT with the value after the change,
 * DELETE with the value after the reset.
 */

import {
  badRequest,
  type ControlRequest,
  type MethodTable,
  mapValues,
  type Reply,
  watchBody,
} from "./controlShared";
import { parseFaultSettings } from "./faults";
import { parsePushSettings } from "./push";
import { parseQuotaSettings } from "./quotaSettings";
import type { SimulatorState } from "./state";

export const faults: MethodTable = {
  GET: ({ state }) => [200, state.faults.current],
  PUT: ({ state, body }) => {
    const settings = parseFaultSettings(body);
    if (typeof settings === "string") throw badRequest(settings);
    state.faults.set(settings);
    return [200, settings];
  },
  DELETE: ({ state }) => {
    state.faults.clear();
    return [200, state.faults.current];
  },
};

const quotaView = (state: SimulatorState): Reply => [
  200,
  { ...state.quota.current, usage: state.quota.usage() },
];

export const quota: MethodTable = {
  GET: ({ state }) => quotaView(state),
  PUT: ({ state, body }) => {
    const settings = parseQuotaSettings(body);
    if (typeof settings === "string") throw badRequest(settings);
    state.quota.set(settings);
    return quotaView(state);
  },
  DELETE: ({ state }) => {
    state.quota.clear();
    return quotaView(state);
  },
};

const batchView = (state: SimulatorState): Reply => [200, { status: state.batchRefusal }];

export const batch: MethodTable = {
  GET: ({ state }) => batchView(state),
  PUT: ({ state, body }) => {
    if (body.status !== 404 && body.status !== 405 && body.status !== 501 && body.status !== null) {
      throw badRequest("status must be 404, 405 or 501 (or null to serve batches).");
    }
    state.batchRefusal = body.status;
    return batchView(state);
  },
  DELETE: ({ state }) => {
    state.batchRefusal = null;
    return batchView(state);
  },
};

export const stats: MethodTable = {
  GET: async ({ state, query }) => {
    // ?settled=1 waits for pushes in flight, so a test reads them without polling.
    if (query.get("settled") === "1") await state.push.settled();
    return [200, { ...state.stats.snapshot(), pushes: state.push.records() }];
  },
  DELETE: ({ state }) => {
    state.stats.reset();
    state.push.clearRecords();
    return [200, { ...state.stats.snapshot(), pushes: [] }];
  },
};

const pushView = (state: SimulatorState): Reply => [
  200,
  { ...state.push.settings, watches: mapValues(state.push.watchesSnapshot(), watchBody) },
];

export const push: MethodTable = {
  GET: ({ state }) => pushView(state),
  PUT: ({ state, body }) => {
    const settings = parsePushSettings(body, state.push.settings);
    if (typeof settings === "string") throw badRequest(settings);
    state.push.settings = settings;
    return pushView(state);
  },
  DELETE: ({ state }) => {
    state.push.settings = { ...state.push.settings, endpoint: null, audience: null, topicPublishable: true };
    return pushView(state);
  },
};

const clockView = (state: SimulatorState): Reply => [
  200,
  { now: new Date(state.now()).toISOString(), offsetMs: state.clockOffsetMs },
];

/** Moves Gmail's clock: by an offset, or to an instant (ISO-8601 or epoch ms). */
function setClock({ state, body }: ControlRequest): Reply {
  if (body.offsetMs !== undefined) {
    if (typeof body.offsetMs !== "number" || !Number.isInteger(body.offsetMs)) {
      throw badRequest("offsetMs must be a whole number of milliseconds.");
    }
    state.clockOffsetMs = body.offsetMs;
  } else {
    const at =
      typeof body.now === "number"
        ? body.now
        : typeof body.now === "string"
          ? Date.parse(body.now)
          : Number.NaN;
    if (!Number.isFinite(at)) throw badRequest("Give offsetMs (ms) or now (ISO-8601 or epoch ms).");
    state.clockOffsetMs = 0;
    state.clockOffsetMs = Math.round(at - state.now());
  }
  return clockView(state);
}

export const clock: MethodTable = {
  GET: ({ state }) => clockView(state),
  PUT: setClock,
  DELETE: ({ state }) => {
    state.clockOffsetMs = 0;
    return clockView(state);
  },
};
