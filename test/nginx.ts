import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../scripts/lib/devServices";

/**
 * A real nginx as a process of the test's own: a temp prefix, its own config, a free loopback
 * port, never the system service. Debian's `nginx` package provides it (.ci/run installs it).
 */

const CANDIDATES = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx"];

/** The nginx binary; a test that needs one fails without it rather than skipping. */
export function nginxBinary(): string {
  const found = [process.env.NGINX, ...CANDIDATES].find((p): p is string => Boolean(p && existsSync(p)));
  if (!found) throw new Error("nginx is not installed: apt-get install -y nginx (or set NGINX to its path)");
  return found;
}

export interface Nginx {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Waits until something accepts connections on the port, or the process has exited. */
async function listening(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "";
  throw new Error(`nginx did not listen on ${port} (exit ${child.exitCode}): ${log}`);
}

/**
 * Starts nginx with `site` (server-level directives: what an image's conf.d file holds) inside
 * an http block, as the nginx image includes conf.d/*.conf. `site` gets the chosen port.
 */
export async function startNginx(site: (port: number) => string): Promise<Nginx> {
  const bin = nginxBinary();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "inbox-nginx-"));
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp);
  writeFileSync(path.join(dir, "site.conf"), site(port));
  const errorLog = path.join(dir, "error.log");
  // As root, nginx's workers switch to an unprivileged user that cannot enter this 0700 directory.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `${user}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  const child = spawn(bin, ["-p", `${dir}/`, "-c", path.join(dir, "nginx.conf"), "-e", errorLog], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  try {
    await listening(port, child, errorLog);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message} ${stderr}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      if (child.exitCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
