/**
 * The simulator's HTTP server: one `node:http` handler that dispatches to the Gmail API, the OAuth
 * endpoints and the /sim control API. Usable in-process from tests:
 *
 *   const sim = createGmailSimulator({ accounts: [{ email: "alice@example.com", count: 1200 }] });
 *   const url = await sim.listen(0);   // "http://127.0.0.1:54321"
 *   …
 *   await sim.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BATCH_PATHS, handleBatch } from "./batch";
import { handleControl } from "./control";
import { controlError, gmailErrors } from "./errors";
import { GMAIL_PREFIX, handleGmailApi } from "./gmailApi";
import { handleCerts, handleDiscovery } from "./identity";
import { handleAuthorize } from "./oauthAuthorize";
import { handleRevoke, handleToken, handleTokenInfo } from "./oauthToken";
import { sendApiError, sendJson, splitUrl } from "./respond";
import { SimulatorState } from "./state";

export interface SimulatorAccountSpec {
  email: string;
  count: number;
}

export interface GmailSimulatorOptions {
  /** Accounts to create at start (default: none). */
  accounts?: readonly SimulatorAccountSpec[];
  /** Seed of all generated content (default "inbox-sync"). */
  seed?: string | number;
  /** Lifetime of issued access tokens in seconds (default 3599, as Google). */
  accessTokenLifetimeSeconds?: number;
  /** The instant the newest seeded message arrived (ms; default 2025-11-27T17:00:00Z). */
  baseTime?: number;
  /** Log one line per request: `true` for stdout, or a function. */
  log?: boolean | ((line: string) => void);
  /** The `iss` of ID tokens (default: the address each token request came to). */
  issuer?: string;
  /** Where mail-change pushes are POSTed (Pub/Sub push endpoint), and their token's audience. */
  pushEndpoint?: string;
  pushAudience?: string;
  /**
   * The real clock (ms since the epoch; default `Date.now`). Gmail's clock, which quotas, arrivals
   * and watches read, runs `PUT /sim/clock`'s offset ahead of it.
   */
  now?: () => number;
}

export interface GmailSimulator {
  readonly server: Server;
  /** Base URL once listening, e.g. "http://127.0.0.1:4010" (throws before `listen`). */
  readonly url: string;
  readonly state: SimulatorState;
  /** Starts listening (port 0 picks a free port; no host means every interface); answers the URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_SEED = "inbox-sync";
export const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 3599;

function createState(options: GmailSimulatorOptions): SimulatorState {
  const state = new SimulatorState({
    seed: String(options.seed ?? DEFAULT_SEED),
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
    ...(options.baseTime === undefined ? {} : { baseTime: options.baseTime }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.pushEndpoint === undefined ? {} : { pushEndpoint: options.pushEndpoint }),
    ...(options.pushAudience === undefined ? {} : { pushAudience: options.pushAudience }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  for (const account of options.accounts ?? []) state.createAccount(account.email, account.count);
  return state;
}

/** The request handler: dispatches, turns a thrown error into a 500, logs each request if asked. */
function requestHandler(
  state: SimulatorState,
  logOption: GmailSimulatorOptions["log"],
): (req: IncomingMessage, res: ServerResponse) => void {
  const log =
    logOption === true
      ? (line: string) => process.stdout.write(`${line}\n`)
      : typeof logOption === "function"
        ? logOption
        : undefined;
  return (req, res) => {
    if (log) {
      const started = performance.now();
      res.on("close", () => {
        const ms = (performance.now() - started).toFixed(1);
        log(`${req.method} ${req.url} ${res.writableFinished ? res.statusCode : "reset"} ${ms}ms`);
      });
    }
    try {
      dispatch(state, req, res);
    } catch (error) {
      fail(res, error);
    }
  };
}

/** Listens and answers the URL to reach the server at (127.0.0.1 for a wildcard host). */
function listenOn(server: Server, port: number, host: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    const ready = () => {
      server.off("error", onError);
      const address = server.address() as AddressInfo;
      const wildcard = !host || host === "0.0.0.0" || host === "::";
      const shown = wildcard ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
      resolve(`http://${shown}:${address.port}`);
    };
    if (host) server.listen(port, host, ready);
    else server.listen(port, ready);
  });
}

export function createGmailSimulator(options: GmailSimulatorOptions = {}): GmailSimulator {
  const state = createState(options);
  const server = createServer({ keepAliveTimeout: 10_000 }, requestHandler(state, options.log));
  let url: string | undefined;

  return {
    server,
    state,
    get url(): string {
      if (!url) throw new Error("The Gmail simulator is not listening yet; call listen() first.");
      return url;
    },
    async listen(port = 0, host?: string): Promise<string> {
      url = await listenOn(server, port, host);
      return url;
    },
    async close(): Promise<void> {
      await state.push.settled();
      return new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, controlError("internal", error instanceof Error ? error.message : String(error)));
}

/** An endpoint at a fixed path; `methods` absent means any method. */
interface Endpoint {
  methods?: string[];
  handle(
    state: SimulatorState,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): void | Promise<void>;
}

const READ = ["GET", "HEAD"];

function sendHealth(state: SimulatorState, res: ServerResponse): void {
  sendJson(res, 200, {
    name: "gmail-sim",
    accounts: [...state.accounts.keys()],
    gmailApi: "/gmail/v1/users/{userId}/…",
    oauth: {
      auth: "/o/oauth2/v2/auth",
      token: "/token",
      revoke: "/revoke",
      certs: "/oauth2/v3/certs",
      discovery: "/.well-known/openid-configuration",
    },
    control: "/sim/…",
  });
}

const authorize: Endpoint = {
  methods: READ,
  handle: (state, _req, res, _path, query) => handleAuthorize(state, res, query),
};
const token: Endpoint = { methods: ["POST"], handle: (state, req, res) => handleToken(state, req, res) };
const revoke: Endpoint = {
  methods: ["POST", "GET"],
  handle: (state, req, res, _path, query) => handleRevoke(state, req, res, query),
};
const tokenInfo: Endpoint = {
  handle: (state, _req, res, _path, query) => handleTokenInfo(state, res, query),
};
const certs: Endpoint = {
  methods: READ,
  handle: (state, _req, res, path) =>
    handleCerts(state.signer, res, path === "/oauth2/v3/certs" ? "jwk" : "pem"),
};
const discovery: Endpoint = {
  methods: READ,
  handle: (state, req, res) => handleDiscovery(req, res, state.issuer),
};
const health: Endpoint = { handle: (state, _req, res) => sendHealth(state, res) };

/** Google's fixed paths, each under its current and its legacy name. */
const ENDPOINTS = new Map<string, Endpoint>([
  ["/o/oauth2/v2/auth", authorize],
  ["/o/oauth2/auth", authorize],
  ["/token", token],
  ["/o/oauth2/token", token],
  ["/revoke", revoke],
  ["/o/oauth2/revoke", revoke],
  ["/tokeninfo", tokenInfo],
  ["/oauth2/v3/tokeninfo", tokenInfo],
  ["/oauth2/v3/certs", certs],
  ["/oauth2/v1/certs", certs],
  ["/.well-known/openid-configuration", discovery],
  ["/", health],
  ["/healthz", health],
]);

function dispatch(state: SimulatorState, req: IncomingMessage, res: ServerResponse): void {
  const { path, query } = splitUrl(req.url ?? "/");
  if (path.startsWith(GMAIL_PREFIX)) {
    handleGmailApi(state, req, res, path, query);
    return;
  }
  if (BATCH_PATHS.has(path)) {
    state.stats.batch();
    handleBatch(state, req, res);
    return;
  }
  if (path.startsWith("/sim/")) {
    handleControl(state, req, res, path, query).catch((error) => fail(res, error));
    return;
  }
  const endpoint = ENDPOINTS.get(path);
  if (endpoint && (!endpoint.methods || endpoint.methods.includes(req.method ?? "GET"))) {
    endpoint.handle(state, req, res, path, query)?.catch((error) => fail(res, error));
    return;
  }
  sendApiError(res, gmailErrors.notFound());
}
