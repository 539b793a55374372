/** The pages of Google's authorization endpoint: the account chooser and the error page. */
import type { ServerResponse } from "node:http";
import { escapeHtml, sendHtml } from "./respond";

const PAGE_STYLE = `
  :root { color-scheme: light dark; --fg:#1f1f1f; --muted:#5f6368; --bg:#f0f4f9; --card:#fff; --line:#dadce0; --accent:#0b57d0; }
  @media (prefers-color-scheme: dark) { :root { --fg:#e3e3e3; --muted:#a8aab0; --bg:#131314; --card:#1e1f20; --line:#444746; --accent:#a8c7fa; } }
  * { box-sizing: border-box; }
  body { margin:0; min-height:100vh; display:grid; place-items:center; background:var(--bg); color:var(--fg);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { background:var(--card); border-radius:28px; padding:36px 40px; width:min(460px, 94vw); box-shadow:0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size:26px; font-weight:400; margin:8px 0 4px; }
  p { margin:0 0 20px; color:var(--muted); }
  .badge { font-size:12px; letter-spacing:.04em; text-transform:uppercase; color:var(--muted); }
  ul { list-style:none; margin:0 0 24px; padding:0; border-top:1px solid var(--line); }
  li { border-bottom:1px solid var(--line); }
  a.account { display:flex; align-items:center; gap:14px; padding:12px 8px; color:inherit; text-decoration:none; border-radius:8px; }
  a.account:hover, a.account:focus-visible { background:color-mix(in srgb, var(--accent) 10%, transparent); outline:none; }
  a.account:focus-visible { box-shadow:0 0 0 2px var(--accent); }
  .avatar { width:36px; height:36px; border-radius:50%; display:grid; place-items:center; color:#fff; font-weight:600; flex:none; }
  .who { display:flex; flex-direction:column; min-width:0; }
  .who strong { font-weight:500; } .who span { color:var(--muted); font-size:13px; overflow:hidden; text-overflow:ellipsis; }
  form { display:flex; gap:8px; flex-wrap:wrap; align-items:flex-end; }
  label { display:flex; flex-direction:column; gap:4px; flex:1 1 220px; font-size:13px; color:var(--muted); }
  input[type=email] { font:inherit; padding:10px 12px; border:1px solid var(--line); border-radius:8px; background:transparent; color:inherit; }
  button, .cancel { font:inherit; padding:10px 20px; border-radius:20px; border:0; cursor:pointer; }
  button { background:var(--accent); color:var(--card); }
  .cancel { display:inline-block; margin-top:18px; color:var(--accent); text-decoration:none; padding-left:0; }
  .notice { padding:10px 12px; border-radius:8px; background:color-mix(in srgb, #d93025 12%, transparent); color:var(--fg); margin-bottom:16px; }
`;

const AVATAR_COLORS = ["#1a73e8", "#d93025", "#188038", "#e37400", "#9334e6", "#007b83"];

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export function errorPage(res: ServerResponse, error: string, message: string): void {
  sendHtml(
    res,
    400,
    page(
      `Error 400: ${error}`,
      `<div class="badge">Gmail simulator</div><h1>Access blocked: authorization error</h1>
<p role="alert"><strong>Error 400: ${escapeHtml(error)}</strong><br>${escapeHtml(message)}</p>`,
    ),
  );
}

export function withParams(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

export function chooserPage(
  query: URLSearchParams,
  emails: string[],
  counts: Map<string, number>,
  unknownHint?: string,
): string {
  const clientId = query.get("client_id") ?? "";
  const hidden = [...query.entries()]
    .filter(([key]) => key !== "login_hint")
    .map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`)
    .join("");
  const items = emails
    .map((email, i) => {
      const params = new URLSearchParams(query);
      params.set("login_hint", email);
      const color = AVATAR_COLORS[i % AVATAR_COLORS.length];
      const initial = escapeHtml(email[0]?.toUpperCase() ?? "?");
      const count = counts.get(email) ?? 0;
      return `<li><a class="account" data-email="${escapeHtml(email)}" href="/o/oauth2/v2/auth?${escapeHtml(params.toString())}">
<span class="avatar" style="background:${color}" aria-hidden="true">${initial}</span>
<span class="who"><strong>${escapeHtml(email)}</strong><span>${count.toLocaleString("en-US")} messages</span></span></a></li>`;
    })
    .join("\n");
  const redirectUri = query.get("redirect_uri") ?? "";
  const cancel = withParams(redirectUri, { error: "access_denied", state: query.get("state") ?? undefined });
  const notice = unknownHint
    ? `<div class="notice" role="alert">There is no account ${escapeHtml(unknownHint)} on this simulator. Choose one below.</div>`
    : "";
  return page(
    "Sign in - Gmail simulator",
    `<div class="badge">Gmail simulator</div>
<h1 id="title">Choose an account</h1>
<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${notice}
<nav aria-labelledby="title"><ul>
${items || "<li><p>No accounts yet. Create one with POST /sim/accounts.</p></li>"}
</ul></nav>
<form method="get" action="/o/oauth2/v2/auth">${hidden}
<label for="login_hint">Or use another account<input id="login_hint" type="email" name="login_hint" required autocomplete="email" placeholder="name@example.com"></label>
<button type="submit">Next</button></form>
<a class="cancel" href="${escapeHtml(cancel)}">Cancel</a>`,
  );
}
