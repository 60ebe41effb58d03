/** The dashboard's style: system fonts, light and dark, badges by status. */
export const DASHBOARD_STYLE = `
:root { color-scheme: light dark; --fg: #1d2430; --muted: #6b7280; --bg: #f7f8fa; --card: #fff; --line: #e3e6eb;
  --up: #1a7f37; --starting: #9a6700; --draining: #8250df; --down: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3ae; --bg: #0f1216; --card: #171b21; --line: #2a3038; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 12px; align-items: center; padding: 12px 20px; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; }
h1 { font-size: 17px; margin: 0; }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 22px 0 8px; }
#filter { margin-left: auto; width: min(360px, 50vw); padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
main, form { padding: 0 20px 30px; }
form { padding-top: 20px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
tr:last-child td { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.summary { display: flex; flex-wrap: wrap; gap: 10px 28px; padding: 14px 0 0; }
.summary b { font-size: 20px; margin-right: 4px; }
.muted { color: var(--muted); }
.error { color: var(--down); }
.pill, .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.pill[data-state="live"] { color: var(--up); }
.pill[data-state="stale"], .pill[data-state="lost"] { color: var(--down); }
.pill[data-state="connecting"] { color: var(--muted); }
.badge.up { color: var(--up); } .badge.starting { color: var(--starting); }
.badge.draining { color: var(--draining); } .badge.down { color: var(--down); }
.count0 { color: var(--muted); }
.banner { margin: 12px 20px 0; padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.banner.stale, .banner.lost { background: #fde8e8; color: #8a1c1c; border: 1px solid #f5b5b5; }
.banner.guard { background: #fff4d6; color: #6b4c00; border: 1px solid #f0d58a; }
.expiring { color: var(--down); }
`;
