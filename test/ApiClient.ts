/**
 * A cookie-keeping HTTP client for tests: signs in through the real OAuth redirects (web →
 * simulator consent → callback) and sends the CSRF header on writes, as a browser app would.
 */
export class ApiClient {
  private readonly cookies = new Map<string, string>();
  csrfToken: string | null = null;
  bearer: string | null = null;

  constructor(readonly baseUrl: string) {}

  /** The same signed-in user talking to another web node (sessions live in PostgreSQL). */
  on(baseUrl: string): ApiClient {
    const twin = new ApiClient(baseUrl);
    for (const [k, v] of this.cookies) twin.cookies.set(k, v);
    twin.csrfToken = this.csrfToken;
    twin.bearer = this.bearer;
    return twin;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async raw(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
    const url = path.startsWith("http") ? path : `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { ...init.headers };
    if (url.startsWith(this.baseUrl) && this.cookies.size) headers.cookie = this.cookieHeader;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.csrfToken && method !== "GET" && !headers["x-csrf-token"])
      headers["x-csrf-token"] = this.csrfToken;
    const res = await fetch(url, { method, headers, body: init.body, redirect: "manual" });
    if (url.startsWith(this.baseUrl)) this.remember(res);
    return res;
  }

  async json<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await this.raw(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { "content-type": "application/json" },
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /**
   * The whole OAuth code flow against the simulator, following every redirect as a browser would
   * (including a second round through the consent screen), ending with a session and a CSRF token.
   */
  async signIn(email: string): Promise<void> {
    let res = await this.raw("GET", `/auth/google?login_hint=${encodeURIComponent(email)}`);
    for (let hop = 0; ; hop++) {
      if (res.status !== 302)
        throw new Error(`sign-in hop ${hop} answered ${res.status}: ${await res.text()}`);
      const next = new URL(res.headers.get("location")!, this.baseUrl).toString();
      if (next === `${this.baseUrl}/`) break;
      if (hop > 8) throw new Error("sign-in kept redirecting");
      res = next.startsWith(this.baseUrl)
        ? await this.raw("GET", next)
        : await fetch(next, { redirect: "manual" });
    }
    const me = await this.json("GET", "/api/me");
    if (me.status !== 200) throw new Error(`/api/me answered ${me.status}`);
    this.csrfToken = me.body.csrfToken;
  }
}
