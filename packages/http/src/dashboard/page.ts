import { DASHBOARD_SCRIPT } from './script.js';
import { DASHBOARD_STYLE } from './style.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );

/**
 * The dashboard: one HTML page with its style and script inline, nothing fetched from elsewhere. It
 * holds no registry data; the script reads the token from the URL fragment (`#token=...`, which never
 * reaches a server log) or asks for it, then asks the API and follows `/v1/events`.
 */
export function dashboardPage(title: string, basePath: string): string {
  const safeTitle = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${safeTitle}</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body data-base="${escapeHtml(basePath)}">
<header>
  <h1>${safeTitle}</h1>
  <span id="connection" class="pill" data-state="connecting">connecting</span>
  <input id="filter" type="search" placeholder="filter: service, id, status, url, endpoint" aria-label="filter" autocomplete="off">
</header>
<form id="login" hidden>
  <label>Bearer token <input id="token" type="password" autocomplete="off" required></label>
  <button type="submit">Open</button>
  <p id="login-error" class="error"></p>
</form>
<div id="stale-banner" class="banner stale" role="alert" hidden></div>
<div id="guard-banner" class="banner guard" role="status" hidden></div>
<div id="lost-banner" class="banner lost" role="alert" hidden>Connection to the dashboard server lost; retrying.</div>
<main id="main" hidden>
  <section class="summary">
    <div><b id="service-count">0</b> services</div>
    <div><b id="instance-count">0</b> instances</div>
    <div><b id="up-count">0</b> up</div>
    <div><b id="conflict-count">0</b> url-map conflicts</div>
    <div><b id="rejected-count">0</b> rejected records</div>
    <div class="muted">updated <span id="updated-at">never</span></div>
  </section>
  <section id="conflicts" hidden>
    <h2>URL-map conflicts</h2>
    <p class="muted">One resource is served from several URLs; the first is the one the url map holds.</p>
    <table><thead><tr><th>resource</th><th>urls</th><th>instances</th></tr></thead><tbody id="conflict-rows"></tbody></table>
  </section>
  <section>
    <h2>Services</h2>
    <table><thead><tr><th>service</th><th>instances</th><th>up</th><th>starting</th><th>draining</th><th>down</th></tr></thead>
    <tbody id="service-rows"></tbody></table>
  </section>
  <section>
    <h2>Instances</h2>
    <table><thead><tr><th>service</th><th>instance</th><th>status</th><th>address</th><th>public url</th><th>endpoints</th><th>expires in</th><th>meta</th></tr></thead>
    <tbody id="instance-rows"></tbody></table>
    <p id="empty" class="muted" hidden>No instances registered.</p>
  </section>
  <section id="rejected" hidden>
    <h2>Rejected records</h2>
    <p class="muted">Records that cannot be decrypted or validated: another cluster's secret, an old format, tampering.</p>
    <table><thead><tr><th>key</th><th>reason</th></tr></thead><tbody id="rejected-rows"></tbody></table>
  </section>
  <section>
    <h2>URL map</h2>
    <table><thead><tr><th>resource</th><th>public url</th></tr></thead><tbody id="url-rows"></tbody></table>
  </section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
