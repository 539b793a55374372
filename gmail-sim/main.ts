/**
 * `npm run sim`: the Gmail simulator as its own process. Configuration problems end it with one
 * line naming the variable; SIGTERM and SIGINT close it cleanly.
 */
import { EnvError, readEnv, type SimulatorEnv } from "./env";
import { createGmailSimulator } from "./server";

async function main(): Promise<void> {
  let env: SimulatorEnv;
  try {
    env = readEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`gmail-sim: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

  const sim = createGmailSimulator({
    accounts: env.accounts,
    ...(env.seed === undefined ? {} : { seed: env.seed }),
    ...(env.accessTokenLifetimeSeconds === undefined
      ? {}
      : { accessTokenLifetimeSeconds: env.accessTokenLifetimeSeconds }),
    ...(env.baseTime === undefined ? {} : { baseTime: env.baseTime }),
    ...(env.issuer === undefined ? {} : { issuer: env.issuer }),
    ...(env.pushEndpoint === undefined ? {} : { pushEndpoint: env.pushEndpoint }),
    ...(env.pushAudience === undefined ? {} : { pushAudience: env.pushAudience }),
    log: env.log,
  });

  let url: string;
  try {
    url = await sim.listen(env.port, env.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") console.error(`gmail-sim: SIM_PORT ${env.port} is already in use.`);
    else if (code === "EACCES")
      console.error(`gmail-sim: SIM_PORT ${env.port} needs privileges this process lacks.`);
    else if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
      console.error(`gmail-sim: SIM_HOST ${env.host} is not an address of this machine.`);
    } else console.error(`gmail-sim: cannot listen on port ${env.port}: ${(error as Error).message}`);
    process.exit(1);
  }

  const summary = env.accounts.map((a) => `${a.email} (${a.count})`).join(", ") || "no accounts";
  console.log(`gmail-sim listening on ${url} — ${summary}`);

  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    sim.close().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(`gmail-sim: error while closing on ${signal}: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(`gmail-sim: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
