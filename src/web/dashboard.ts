/**
 * The worker's dashboard: one self-contained HTML page (inline CSS and JS, no external resources)
 * served at `GET /`. It polls `GET /stats` every second and `GET /router` every five, and renders
 * the Monitor's numbers: header (app, worker URL, ready/recovering, uptime, pid, a disconnected
 * indicator), summary cards, a throughput chart (inline SVG, rates from consecutive `history`
 * samples), agents, topics, per-partition offsets and lag, tables, recovery, rebalances and the
 * router's view of which worker holds which table partitions.
 *
 * Every string from the worker goes into the DOM as text (`textContent`, `createTextNode`,
 * `setAttribute`), never as markup. The key numbers carry stable `data-testid` attributes whose
 * text is the raw number (it parses with `Number()`; `—` when unknown), and `body[data-updated]`
 * counts the `/stats` responses rendered so far.
 * @module
 */

/** Escape text for HTML element content and quoted attribute values. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STYLE = `
:root {
  --bg: #0d1117; --panel: #161b22; --panel2: #1c2330; --border: #283141; --text: #d6dde8; --muted: #8b96a8;
  --faint: #5d6878; --blue: #58a6ff; --green: #3fb950; --amber: #d29922; --red: #f85149; --purple: #bc8cff;
  --teal: #39c5cf; color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.num, td.n, .card .value, .kv dd { font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
header { padding: 10px 24px 9px; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; }
header .top { display: flex; align-items: center; gap: 12px; }
header .top .right { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.brand { display: flex; align-items: baseline; gap: 10px; min-width: 0; }
.brand .logo { color: var(--purple); font-weight: 700; letter-spacing: .02em; font-size: 13px; }
.brand h1 { margin: 0; font-size: 18px; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 760px; }
.meta { display: flex; align-items: center; gap: 6px 22px; flex-wrap: wrap; margin-top: 4px; color: var(--muted); font-size: 12.5px; }
.meta b { color: var(--text); font-weight: 500; }
.meta a { color: var(--blue); text-decoration: none; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px; font-size: 12px;
  font-weight: 600; border: 1px solid var(--border); background: var(--panel2); color: var(--muted); white-space: nowrap; }
.pill::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.pill.ok { color: var(--green); border-color: #23502f; background: #12261a; }
.pill.warn { color: var(--amber); border-color: #5a4316; background: #2a2010; }
.pill.bad { color: var(--red); border-color: #6b2424; background: #2d1414; }
.pill.plain::before { display: none; }
.banner { margin: 12px 24px 0; padding: 8px 14px; border-radius: 6px; background: #2d1414; border: 1px solid #6b2424; color: #ffb3ad; }
body.stale main { opacity: .5; filter: grayscale(.6); }
main { padding: 16px 24px 32px; display: grid; grid-template-columns: repeat(12, minmax(0, 1fr)); gap: 16px; }
.s12 { grid-column: span 12; } .s8 { grid-column: span 8; } .s7 { grid-column: span 7; } .s6 { grid-column: span 6; }
.s5 { grid-column: span 5; } .s4 { grid-column: span 4; }
@media (max-width: 980px) { .s8, .s7, .s6, .s5, .s4 { grid-column: span 12; } }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.card .label { color: var(--muted); font-size: 11.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .sub { color: var(--faint); font-size: 11.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card.alert .value { color: var(--red); }
.card.accent-blue { border-top: 2px solid var(--blue); } .card.accent-teal { border-top: 2px solid var(--teal); }
.card.accent-purple { border-top: 2px solid var(--purple); } .card.accent-amber { border-top: 2px solid var(--amber); }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; min-width: 0; display: flex; flex-direction: column; }
.panel > h2 { margin: 0; padding: 10px 14px; font-size: 13px; font-weight: 600; border-bottom: 1px solid var(--border);
  display: flex; align-items: center; gap: 10px; }
.panel > h2 .aside { margin-left: auto; color: var(--muted); font-weight: 400; font-size: 12px; }
.panel .body { padding: 10px 14px; }
.panel .scroll { overflow: auto; max-height: 360px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #20283a; white-space: nowrap; vertical-align: middle; }
th { color: var(--muted); font-weight: 500; font-size: 11px; text-transform: uppercase; letter-spacing: .03em;
  position: sticky; top: 0; background: var(--panel); z-index: 1; }
td.n, th.n { text-align: right; }
tbody tr:hover { background: #1a2130; }
tbody tr:last-child td { border-bottom: none; }
td.empty { color: var(--faint); text-align: center; padding: 14px; font-style: italic; }
.muted { color: var(--muted); } .faint { color: var(--faint); }
.chip { display: inline-block; padding: 0 7px; margin: 1px 4px 1px 0; border-radius: 4px; background: var(--panel2);
  border: 1px solid var(--border); font-size: 12px; max-width: 220px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; vertical-align: middle; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; margin-left: 6px; color: var(--purple);
  border: 1px solid #3d2f5c; background: #201a30; }
td.wrap { white-space: normal; min-width: 120px; }
.name { font-weight: 500; max-width: 360px; overflow: hidden; text-overflow: ellipsis; display: inline-block; vertical-align: middle; }
.lag { display: flex; align-items: center; gap: 8px; justify-content: flex-end; }
.bar { width: 140px; height: 8px; border-radius: 4px; background: #222b3a; overflow: hidden; flex: none; }
.bar > span { display: block; height: 100%; border-radius: 4px; background: var(--green); }
.bar.unknown { background: repeating-linear-gradient(45deg, #222b3a 0 4px, #2b3546 4px 8px); }
.bar.big { width: 100%; height: 10px; }
.lagnum { display: inline-block; min-width: 56px; }
.legend { display: flex; gap: 18px; flex-wrap: wrap; padding: 8px 14px 0; color: var(--muted); }
.legend .sw { display: inline-block; width: 14px; height: 3px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.legend b { color: var(--text); font-weight: 600; margin-left: 4px; }
.chart-wrap { position: relative; flex: 1; min-height: 240px; margin: 4px 8px 8px; }
#chart { position: absolute; inset: 0; display: block; width: 100%; height: 100%; }
#chart .grid line { stroke: #222b3a; stroke-width: 1; }
#chart .axis text { fill: var(--faint); font-size: 11px; }
#chart .axis-title { fill: var(--muted); font-size: 11px; }
#chart path.series { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
#chart .cursor { stroke: #4b5a72; stroke-dasharray: 3 3; }
.tip { position: absolute; pointer-events: none; background: #0b0f15ee; border: 1px solid var(--border); border-radius: 6px;
  padding: 6px 9px; font-size: 12px; white-space: nowrap; display: none; z-index: 3; }
.tip div { display: flex; gap: 12px; justify-content: space-between; }
.kv { display: grid; grid-template-columns: auto 1fr; gap: 4px 14px; margin: 0; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; text-align: right; }
.recovery-head { display: flex; align-items: center; gap: 10px; margin-bottom: 10px; }
.recovery-head .pct { margin-left: auto; color: var(--muted); }
.progress { margin-bottom: 12px; }
.progress .bar > span { background: var(--blue); transition: width .4s; }
.progress.done .bar > span { background: var(--green); }
.matrix td, .matrix th { padding: 3px 4px; text-align: center; border-bottom: 1px solid #20283a; }
.matrix th.w, .matrix td.w { text-align: left; padding-right: 12px; max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
.cell { display: inline-block; min-width: 22px; padding: 1px 0; border-radius: 4px; font-size: 11px; font-weight: 700; }
.cell.a { background: #12361f; color: var(--green); border: 1px solid #23502f; }
.cell.s { background: #112640; color: var(--blue); border: 1px solid #1f4470; }
.cell.none { color: #394457; }
.self-mark { color: var(--purple); font-size: 11px; margin-left: 6px; }
.router-table { margin-bottom: 12px; }
.router-table h3 { margin: 4px 0 6px; font-size: 12px; font-weight: 600; color: var(--muted); }
.router-table h3 b { color: var(--text); }
.keyline { color: var(--faint); font-size: 11.5px; margin-top: 6px; }
footer { color: var(--faint); padding: 0 24px 20px; font-size: 11.5px; }
`

/* The client script. No backticks and no dollar-brace in here: it sits in a template literal. */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var STATS_EVERY = 1000, ROUTER_EVERY = 5000, TIMEOUT = 4000;
  var statsCount = 0, lastStats = null, lastOkAt = 0, lastError = '', connected = null;
  var chartState = null, chartTop = 0;
  var COLORS = { events: '#58a6ff', received: '#39c5cf', sent: '#bc8cff' };

  function byId(id) { return document.getElementById(id); }
  function isNum(n) { return typeof n === 'number' && isFinite(n); }
  /* Raw number as text (what testid elements show): integers as they are, '—' when unknown. */
  function raw(n, digits) { return isNum(n) ? (digits === undefined ? String(n) : n.toFixed(digits)) : '—'; }
  function grouped(n, digits) {
    if (!isNum(n)) return '—';
    return n.toLocaleString('en-US', { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }
  function compact(n) {
    if (!isNum(n)) return '—';
    var a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e4) return (n / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
    return String(Math.round(n * 10) / 10);
  }
  function duration(sec) {
    if (!isNum(sec)) return '—';
    sec = Math.max(0, Math.round(sec));
    var d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    function two(x) { return x < 10 ? '0' + x : String(x); }
    if (d > 0) return d + 'd ' + h + 'h ' + two(m) + 'm';
    if (h > 0) return h + 'h ' + two(m) + 'm ' + two(s) + 's';
    if (m > 0) return m + 'm ' + two(s) + 's';
    return s + 's';
  }
  function ms(n) { return isNum(n) ? (n >= 100 ? grouped(n, 0) : n.toFixed(n >= 10 ? 1 : 3)) + ' ms' : '—'; }
  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString('en-GB', { hour12: false });
  }
  /* [0,1,2,3,7,9,10] -> '0–3, 7, 9–10' */
  function ranges(list) {
    if (!list || list.length === 0) return '—';
    var xs = list.slice().sort(function (a, b) { return a - b; }), out = [], start = xs[0], prev = xs[0];
    for (var i = 1; i <= xs.length; i++) {
      var x = xs[i];
      if (x === prev + 1) { prev = x; continue; }
      out.push(start === prev ? String(start) : start + '\u2013' + prev);
      start = prev = x;
    }
    return out.join(', ');
  }

  /* Build an element: text goes in as text, never as markup. */
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    setProps(el, props);
    append(el, kids);
    return el;
  }
  function s(tag, props) {
    var el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setProps(el, props);
    return el;
  }
  function setProps(el, props) {
    if (!props) return;
    for (var k in props) {
      var v = props[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else el.setAttribute(k === 'className' ? 'class' : k, String(v));
    }
  }
  function append(el, kids) {
    if (kids === null || kids === undefined) return;
    if (!Array.isArray(kids)) kids = [kids];
    for (var i = 0; i < kids.length; i++) {
      var c = kids[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }
  function setText(el, text, title) {
    if (!el) return;
    if (el.textContent !== text) el.textContent = text;
    if (title !== undefined && el.getAttribute('title') !== title) el.setAttribute('title', title);
  }
  function td(text, props) { var p = props || {}; p.text = text; return h('td', p); }
  function numCell(n, testid, digits) {
    return h('td', { className: 'n', 'data-testid': testid || null, title: isNum(n) ? grouped(n, digits) : null, text: raw(n, digits) });
  }
  function emptyRow(cols, text) { return h('tr', null, h('td', { className: 'empty', colspan: cols, text: text })); }
  function fill(tbodyId, rows, cols, emptyText) {
    var tb = byId(tbodyId);
    if (rows.length === 0) rows = [emptyRow(cols, emptyText)];
    tb.replaceChildren.apply(tb, rows);
  }

  // ── header and cards ──────────────────────────────────────────────────────────
  function renderHeader(st) {
    var w = st.worker || {};
    setText(byId('app-id'), String(w.id));
    document.title = String(w.id) + ' \u00b7 faust-ts';
    var state = byId('worker-state');
    var ready = w.ready === true;
    setText(state, ready ? 'ready' : 'recovering');
    state.className = 'pill ' + (ready ? 'ok' : 'warn');
    state.setAttribute('data-state', ready ? 'ready' : 'recovering');
    setText(byId('worker-service-state'), String(w.state));
    var url = byId('worker-url');
    setText(url, w.url ? String(w.url) : 'no web url');
    if (w.url && /^https?:/i.test(String(w.url))) url.setAttribute('href', String(w.url)); else url.removeAttribute('href');
    setText(byId('uptime'), duration(w.uptimeSeconds), w.startedAt ? 'started ' + String(w.startedAt) : undefined);
    setText(byId('pid'), raw(w.pid));
  }

  function card(id, value, sub, title) {
    setText(byId(id), value, title);
    if (sub !== undefined) setText(byId(id + '-sub'), sub);
  }
  function renderCards(st) {
    var m = st.messages || {}, e = st.events || {}, parts = st.partitions || [];
    var known = parts.filter(function (p) { return isNum(p.lag); });
    var lag = known.reduce(function (a, p) { return a + p.lag; }, 0);
    card('events-per-second', raw(e.perSecond, 1), 'average, last 5 s');
    card('messages-in-per-second', raw(m.receivedPerSecond, 1), 'average, last 5 s');
    setText(byId('messages-sent-per-second'), raw(m.sentPerSecond, 1));
    setText(byId('messages-sent'), raw(m.sent), grouped(m.sent) + ' messages sent');
    card('runtime-avg', raw(e.runtimeAvgMs, 3), 'avg of the last 100');
    card('lag-total', known.length === 0 ? '—' : String(lag),
      known.length === 0 ? (parts.length === 0 ? 'no partitions assigned' : 'end offsets not read yet')
        : 'over ' + known.length + ' partition' + (known.length === 1 ? '' : 's'), grouped(lag));
    byId('lag-total-card').classList.toggle('alert', lag > 0 && lag >= 10000);
    card('events-total', raw(e.total), grouped(e.active) + ' in flight', grouped(e.total));
    card('messages-received', raw(m.received), grouped(m.active) + ' in flight', grouped(m.received));
    card('send-errors', raw(m.sendErrors), 'of ' + grouped((st.sends || {}).total) + ' sends');
    byId('send-errors-card').classList.toggle('alert', m.sendErrors > 0);
  }

  // ── chart ─────────────────────────────────────────────────────────────────────
  function niceStep(range, ticks) {
    var rough = range / ticks, mag = Math.pow(10, Math.floor(Math.log10(rough))), r = rough / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
  }
  function rates(history) {
    var out = { t: [], events: [], received: [], sent: [] };
    for (var i = 1; i < history.length; i++) {
      var a = history[i - 1], b = history[i], dt = b.t - a.t;
      if (!(dt > 0)) continue;
      out.t.push(b.t);
      out.events.push(Math.max(0, b.events - a.events) * 1000 / dt);
      out.received.push(Math.max(0, b.messagesReceived - a.messagesReceived) * 1000 / dt);
      out.sent.push(Math.max(0, b.messagesSent - a.messagesSent) * 1000 / dt);
    }
    return out;
  }
  function renderChart(history) {
    var svg = byId('chart');
    var box = svg.getBoundingClientRect();
    var W = Math.max(320, Math.round(box.width || 800)), H = Math.max(200, Math.round(box.height || 240));
    var L = 56, R = 14, T = 12, B = 34, pw = W - L - R, ph = H - T - B;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var r = rates(history || []), n = r.t.length;
    var latest = { events: r.events[n - 1], received: r.received[n - 1], sent: r.sent[n - 1] };
    setText(byId('legend-events'), n ? latest.events.toFixed(1) : '—');
    setText(byId('legend-received'), n ? latest.received.toFixed(1) : '—');
    setText(byId('legend-sent'), n ? latest.sent.toFixed(1) : '—');
    var kids = [];
    var max = 0;
    for (var i = 0; i < n; i++) max = Math.max(max, r.events[i], r.received[i], r.sent[i]);
    var step = niceStep(Math.max(max, 1), 4), top = Math.max(step, Math.ceil(max / step) * step);
    var t1 = n ? r.t[n - 1] : 0, span = n > 1 ? Math.max(r.t[n - 1] - r.t[0], 1000) : 60000;
    var t0 = t1 - span;
    function x(t) { return L + (t - t0) / span * pw; }
    function y(v) { return T + ph - v / top * ph; }
    var grid = s('g', { 'class': 'grid' }), axis = s('g', { 'class': 'axis' });
    for (var v = 0; v <= top + step / 2; v += step) {
      grid.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      var lab = s('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end' });
      lab.textContent = compact(v);
      axis.appendChild(lab);
    }
    var secs = span / 1000, steps = [5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600], xs = steps[steps.length - 1];
    for (var k = 0; k < steps.length; k++) if (secs / steps[k] <= 6) { xs = steps[k]; break; }
    for (var ago = 0; ago <= secs + 0.001; ago += xs) {
      var tx = x(t1 - ago * 1000);
      grid.appendChild(s('line', { x1: tx, x2: tx, y1: T, y2: T + ph }));
      var tl = s('text', { x: tx, y: T + ph + 15, 'text-anchor': ago === 0 ? 'end' : 'middle' });
      tl.textContent = ago === 0 ? 'now' : '\u2212' + (ago >= 60 && ago % 60 === 0 ? (ago / 60) + 'm' : ago + 's');
      axis.appendChild(tl);
    }
    var yt = s('text', { 'class': 'axis-title', x: 12, y: T + ph / 2, transform: 'rotate(-90 12 ' + (T + ph / 2) + ')', 'text-anchor': 'middle' });
    yt.textContent = 'per second';
    var xt = s('text', { 'class': 'axis-title', x: L + pw / 2, y: H - 3, 'text-anchor': 'middle' });
    xt.textContent = 'time (1 s samples)';
    kids.push(grid, axis, yt, xt);
    function path(values) {
      var d = '';
      for (var j = 0; j < n; j++) d += (j ? 'L' : 'M') + x(r.t[j]).toFixed(1) + ' ' + y(values[j]).toFixed(1);
      if (n === 1) d += 'L' + (L + pw).toFixed(1) + ' ' + y(values[0]).toFixed(1);
      return d;
    }
    if (n > 0) {
      var area = path(r.events) + 'L' + x(r.t[n - 1]).toFixed(1) + ' ' + (T + ph) + 'L' + x(r.t[0]).toFixed(1) + ' ' + (T + ph) + 'Z';
      kids.push(s('path', { d: area, fill: COLORS.events, 'fill-opacity': 0.08, stroke: 'none' }));
      kids.push(s('path', { 'class': 'series', 'data-series': 'sent', d: path(r.sent), stroke: COLORS.sent, 'stroke-dasharray': '5 4' }));
      kids.push(s('path', { 'class': 'series', 'data-series': 'received', d: path(r.received), stroke: COLORS.received, 'stroke-width': 4.5, 'stroke-opacity': 0.55 }));
      kids.push(s('path', { 'class': 'series', 'data-series': 'events', d: path(r.events), stroke: COLORS.events }));
    } else {
      var wait = s('text', { x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle', fill: '#5d6878' });
      wait.textContent = 'waiting for samples\u2026';
      kids.push(wait);
    }
    var cursor = s('line', { 'class': 'cursor', id: 'chart-cursor', x1: 0, x2: 0, y1: T, y2: T + ph, visibility: 'hidden' });
    chartTop = T;
    kids.push(cursor);
    kids.push(s('rect', { x: L, y: T, width: pw, height: ph, fill: 'transparent', stroke: '#283141' }));
    svg.replaceChildren.apply(svg, kids);
    svg.setAttribute('data-points', String(n));
    chartState = { r: r, x: x, L: L, pw: pw, W: W, n: n };
  }
  function chartHover(ev) {
    var svg = byId('chart'), tip = byId('chart-tip'), cursor = byId('chart-cursor');
    if (!chartState || chartState.n === 0 || !cursor) return;
    var box = svg.getBoundingClientRect(), scale = chartState.W / box.width, px = (ev.clientX - box.left) * scale;
    var best = 0, bestD = Infinity;
    for (var i = 0; i < chartState.n; i++) {
      var d = Math.abs(chartState.x(chartState.r.t[i]) - px);
      if (d < bestD) { bestD = d; best = i; }
    }
    var cx = chartState.x(chartState.r.t[best]);
    cursor.setAttribute('x1', cx); cursor.setAttribute('x2', cx); cursor.setAttribute('visibility', 'visible');
    var r = chartState.r, ago = Math.round((r.t[chartState.n - 1] - r.t[best]) / 1000);
    tip.replaceChildren(
      h('div', { className: 'muted' }, [h('span', { text: ago === 0 ? 'now' : ago + ' s ago' }), h('span', { text: clock(r.t[best]) })]),
      h('div', null, [h('span', { text: 'events/s' }), h('b', { text: r.events[best].toFixed(1) })]),
      h('div', null, [h('span', { text: 'messages in/s' }), h('b', { text: r.received[best].toFixed(1) })]),
      h('div', null, [h('span', { text: 'messages sent/s' }), h('b', { text: r.sent[best].toFixed(1) })]));
    tip.style.display = 'block';
    var left = cx / scale + 16;
    if (left + 180 > box.width) left = cx / scale - 190;
    tip.style.left = left + 'px';
    tip.style.top = chartTop / scale + 8 + 'px';
  }
  function chartLeave() {
    byId('chart-tip').style.display = 'none';
    var c = byId('chart-cursor');
    if (c) c.setAttribute('visibility', 'hidden');
  }

  // ── sections ──────────────────────────────────────────────────────────────────
  function renderAgents(st) {
    var by = (st.events || {}).byStream || {};
    var rows = (st.agents || []).map(function (a) {
      var counts = by[a.name] || {};
      var stateCls = a.state === 'running' ? 'ok' : a.state === 'crashed' ? 'bad' : 'warn';
      return h('tr', null, [
        h('td', { title: a.help || null }, [h('span', { className: 'name', text: a.name })]),
        h('td', { className: 'wrap' }, (a.topics || []).map(function (t) { return h('span', { className: 'chip', title: t, text: t }); })),
        numCell(a.concurrency, 'agent-' + a.name + '-concurrency'),
        h('td', null, h('span', { className: 'pill ' + stateCls, 'data-testid': 'agent-' + a.name + '-state', text: a.state })),
        numCell(isNum(counts.total) ? counts.total : 0, 'agent-' + a.name + '-events'),
        numCell(counts.runtimeAvgMs, 'agent-' + a.name + '-runtime', 3),
      ]);
    });
    fill('agents-body', rows, 6, 'No agents');
    setText(byId('agents-count'), String((st.agents || []).length));
  }

  function renderTopics(st) {
    var by = (st.messages || {}).byTopic || {};
    var names = Object.keys(by);
    var rows = names.map(function (name) {
      var c = by[name] || {};
      return h('tr', null, [
        h('td', null, [h('span', { className: 'name', title: name, text: name }), /-changelog$/.test(name) ? h('span', { className: 'tag', text: 'changelog' }) : null]),
        numCell(c.received, 'topic-' + name + '-received'),
        numCell(c.sent, 'topic-' + name + '-sent'),
      ]);
    });
    fill('topics-body', rows, 3, 'No messages yet');
    setText(byId('topics-count'), String(names.length));
  }

  function renderPartitions(st) {
    var parts = st.partitions || [];
    var maxLag = parts.reduce(function (a, p) { return isNum(p.lag) ? Math.max(a, p.lag) : a; }, 0);
    var rows = parts.map(function (p) {
      var id = 'partition-' + p.topic + '-' + p.partition;
      var bar = h('div', { className: 'bar' + (isNum(p.lag) ? '' : ' unknown'), title: isNum(p.lag) ? grouped(p.lag) + ' behind' : 'end offset not read yet' });
      if (isNum(p.lag) && p.lag > 0) {
        var f = h('span');
        f.style.width = Math.max(3, p.lag / Math.max(maxLag, 1) * 100) + '%';
        f.style.background = p.lag >= 10000 ? 'var(--red)' : p.lag >= 100 ? 'var(--amber)' : 'var(--green)';
        bar.appendChild(f);
      }
      return h('tr', null, [
        h('td', null, h('span', { className: 'name', title: p.topic, text: p.topic })),
        numCell(p.partition),
        numCell(p.committed, id + '-committed'),
        numCell(p.read, id + '-read'),
        numCell(p.end, id + '-end'),
        h('td', { className: 'n' }, h('div', { className: 'lag' }, [
          bar, h('span', { 'data-testid': id + '-lag', title: isNum(p.lag) ? grouped(p.lag) : 'unknown', text: raw(p.lag), className: 'lagnum' }),
        ])),
        numCell(p.bufferFull, id + '-buffer-full'),
      ]);
    });
    fill('partitions-body', rows, 7, 'No partitions assigned');
    setText(byId('partitions-count'), parts.length + ' assigned');
  }

  function renderTables(st) {
    var rows = (st.tables || []).map(function (t) {
      var id = 'table-' + t.name;
      return h('tr', null, [
        h('td', null, [h('span', { className: 'name', text: t.name }), h('div', { className: 'faint', title: t.changelog, text: t.changelog || '' })]),
        td(t.kind || '—'),
        td(t.window || '—', { className: t.window ? null : 'faint' }),
        numCell(t.partitions),
        h('td', { title: (t.active || []).join(', ') }, [h('span', { 'data-testid': id + '-active', text: ranges(t.active) }), h('span', { className: 'faint', text: ' (' + (t.active || []).length + ')' })]),
        h('td', { title: (t.standby || []).join(', ') }, [h('span', { 'data-testid': id + '-standby', text: ranges(t.standby) }), h('span', { className: 'faint', text: ' (' + (t.standby || []).length + ')' })]),
        numCell(t.keys, id + '-keys'),
        numCell(t.reads, id + '-reads'),
        numCell(t.writes, id + '-writes'),
        numCell(t.deletes, id + '-deletes'),
      ]);
    });
    fill('tables-body', rows, 10, 'No tables');
    setText(byId('tables-count'), String((st.tables || []).length));
  }

  function renderRecovery(rec, ready) {
    rec = rec || {};
    var done = rec.ready === true;
    var total = (rec.restored || 0) + (rec.remaining || 0);
    var pct = done ? 100 : total > 0 ? Math.min(100, (rec.restored || 0) / total * 100) : 0;
    var status = byId('recovery-ready');
    setText(status, done ? 'ready' : 'recovering');
    status.className = 'pill ' + (done ? 'ok' : 'warn');
    status.setAttribute('data-ready', String(done));
    setText(byId('recovery-pct'), done ? (isNum(rec.lastDurationMs) ? 'last recovery ' + ms(rec.lastDurationMs) : 'nothing to restore') : pct.toFixed(1) + '%');
    var prog = byId('recovery-progress');
    prog.classList.toggle('done', done);
    prog.querySelector('span').style.width = pct + '%';
    setText(byId('recovery-remaining'), raw(rec.remaining), grouped(rec.remaining));
    setText(byId('recovery-restored'), raw(rec.restored), grouped(rec.restored));
    setText(byId('recovery-rate'), isNum(rec.ratePerSecond) ? grouped(rec.ratePerSecond, 1) + ' /s' : '—');
    setText(byId('recovery-eta'), done ? '—' : isNum(rec.etaSeconds) ? duration(rec.etaSeconds) : 'unknown');
    setText(byId('recovery-active'), raw(rec.active));
    setText(byId('recovery-finished'), raw(rec.finished));
    byId('recovery-panel').setAttribute('data-ready', String(ready));
  }

  function renderInternals(st) {
    var c = st.commits || {}, snd = st.sends || {}, a = st.assignments || {}, rb = st.rebalances || {}, http = st.http || {};
    setText(byId('commits-total'), raw(c.total));
    setText(byId('commit-latency'), ms(c.latencyAvgMs));
    setText(byId('send-latency'), ms(snd.latencyAvgMs));
    setText(byId('assignments'), grouped(a.completed) + (a.failed ? ' (' + a.failed + ' failed)' : ''));
    setText(byId('assignment-latency'), ms(a.latencyAvgMs));
    var statuses = Object.keys(http.byStatus || {}).sort();
    setText(byId('http-requests'), statuses.length === 0 ? '—' : statuses.map(function (k) { return k + ': ' + grouped(http.byStatus[k]); }).join(' \u00b7 '));
    setText(byId('http-latency'), ms(http.latencyAvgMs));
  }

  function renderRebalances(rb) {
    rb = rb || {};
    var rows = (rb.recent || []).map(function (r) {
      return h('tr', null, [
        td(clock(r.at), { title: r.at, className: 'mono' }),
        numCell(r.generation), numCell(r.revoked), numCell(r.assigned), numCell(r.returnMs), numCell(r.endMs),
      ]);
    });
    fill('rebalances-body', rows, 6, 'No rebalances yet');
    setText(byId('rebalances-summary'), grouped(rb.total) + ' total \u00b7 avg to ready ' + ms(rb.endAvgMs));
  }

  function renderRouter(rt) {
    var box = byId('router-body');
    if (!rt) return;
    if (rt.error) { box.replaceChildren(h('div', { className: 'faint', text: 'router unavailable: ' + rt.error })); return; }
    var self = rt.self, workers = rt.workers || {}, tables = rt.tables || {};
    var urls = Object.keys(workers);
    var out = [];
    var tnames = Object.keys(tables);
    tnames.forEach(function (name) {
      var owners = tables[name] || {}, parts = Object.keys(owners).map(Number).sort(function (a, b) { return a - b; });
      var seen = urls.slice();
      parts.forEach(function (p) {
        var o = owners[p] || {};
        [o.active].concat(o.standbys || []).forEach(function (u) { if (u && seen.indexOf(u) < 0) seen.push(u); });
      });
      seen.sort(function (a, b) { return a === self ? -1 : b === self ? 1 : a < b ? -1 : a > b ? 1 : 0; });
      var head = h('tr', null, [h('th', { className: 'w', text: 'worker \\ partition' })].concat(parts.map(function (p) { return h('th', { text: String(p) }); })));
      var body = seen.map(function (u) {
        return h('tr', null, [h('td', { className: 'w', title: u }, [h('span', { className: 'mono', text: u }), u === self ? h('span', { className: 'self-mark', text: 'this worker' }) : null])].concat(parts.map(function (p) {
          var o = owners[p] || {};
          var role = o.active === u ? 'a' : (o.standbys || []).indexOf(u) >= 0 ? 's' : '';
          return h('td', null, h('span', { className: 'cell ' + (role || 'none'), 'data-testid': 'router-' + name + '-' + p + '-' + (role === 'a' ? 'active' : role === 's' ? 'standby' : 'none'), title: role === 'a' ? 'active' : role === 's' ? 'standby' : 'not held', text: role === 'a' ? 'A' : role === 's' ? 'S' : '\u00b7' }));
        })));
      });
      var orphans = parts.filter(function (p) { return !(owners[p] || {}).active; });
      out.push(h('div', { className: 'router-table' }, [
        h('h3', null, ['table ', h('b', { text: name }), orphans.length ? h('span', { className: 'tag', text: orphans.length + ' without an active owner' }) : null]),
        h('div', { style: 'overflow-x:auto' }, h('table', { className: 'matrix' }, [h('thead', null, head), h('tbody', null, body)])),
      ]));
    });
    if (tnames.length === 0) out.push(h('div', { className: 'faint', text: 'No tables (no table partitions to route).' }));
    out.push(h('div', { className: 'keyline' }, [h('span', { className: 'cell a', text: 'A' }), ' active  ', h('span', { className: 'cell s', text: 'S' }), ' standby \u00b7 ' + urls.length + ' worker' + (urls.length === 1 ? '' : 's') + ' in the last assignment']));
    box.replaceChildren.apply(box, out);
  }

  // ── polling ───────────────────────────────────────────────────────────────────
  function setConnected(ok) {
    var pill = byId('connection');
    document.body.classList.toggle('stale', !ok && lastStats !== null);
    byId('banner').hidden = ok;
    if (ok) {
      setText(pill, 'live'); pill.className = 'pill ok';
    } else {
      setText(pill, 'disconnected'); pill.className = 'pill bad';
      var age = lastOkAt ? Math.round((Date.now() - lastOkAt) / 1000) + ' s ago' : 'never';
      setText(byId('banner'), 'Disconnected from the worker: ' + lastError + ' \u2014 last update ' + age + '. Retrying every second\u2026');
    }
    pill.setAttribute('data-connected', String(ok));
    connected = ok;
  }
  function getJson(path) {
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, TIMEOUT);
    return fetch(path, { cache: 'no-store', signal: ctl.signal, headers: { accept: 'application/json' } }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }).finally(function () { clearTimeout(timer); });
  }
  function render(st) {
    renderHeader(st);
    renderCards(st);
    renderChart(st.history);
    renderAgents(st);
    renderTopics(st);
    renderPartitions(st);
    renderTables(st);
    renderRecovery(st.recovery, (st.worker || {}).ready === true);
    renderInternals(st);
    renderRebalances(st.rebalances);
  }
  function pollStats() {
    var started = Date.now();
    getJson('stats').then(function (st) {
      lastStats = st;
      lastOkAt = Date.now();
      render(st);
      setConnected(true);
      statsCount += 1;
      setText(byId('updated'), new Date().toLocaleTimeString('en-GB', { hour12: false }));
      document.body.dataset.updated = String(statsCount);
    }).catch(function (err) {
      lastError = err && err.name === 'AbortError' ? 'no answer in ' + TIMEOUT / 1000 + ' s' : String(err && err.message || err);
      setConnected(false);
    }).finally(function () {
      setTimeout(pollStats, Math.max(0, STATS_EVERY - (Date.now() - started)));
    });
  }
  function pollRouter() {
    getJson('router').then(renderRouter, function (err) {
      renderRouter({ error: String(err && err.message || err) });
    }).finally(function () { setTimeout(pollRouter, ROUTER_EVERY); });
  }
  var chart = byId('chart');
  chart.addEventListener('mousemove', chartHover);
  chart.addEventListener('mouseleave', chartLeave);
  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (lastStats) renderChart(lastStats.history); }, 100);
  });
  pollStats();
  pollRouter();
})();
`

/** A summary card (constant labels; the value is filled in by the script). */
function card(id: string, label: string, accent = '', sub = '&nbsp;'): string {
  return `<div class="card ${accent}" id="${id}-card"><div class="label" title="${label}">${label}</div><div class="value" data-testid="${id}" id="${id}">—</div><div class="sub" id="${id}-sub">${sub}</div></div>`
}

function kv(id: string, label: string): string {
  return `<dt>${label}</dt><dd id="${id}" data-testid="${id}">—</dd>`
}

/** The dashboard page for an app. */
export function dashboardHtml(appId: string): string {
  const id = escapeHtml(appId)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${id} · faust-ts</title>
<style>${STYLE}</style>
</head>
<body data-updated="0">
<header>
  <div class="top">
    <div class="brand"><span class="logo">faust-ts</span><h1 id="app-id" data-testid="app-id">${id}</h1></div>
    <span class="pill" id="worker-state" data-testid="worker-state" data-state="unknown" title="table recovery state">connecting</span>
    <div class="right"><span class="muted">updated <b id="updated" class="mono" style="color:var(--text);font-weight:500">—</b></span>
      <span class="pill" id="connection" data-testid="connection" data-connected="false">connecting</span></div>
  </div>
  <div class="meta">
    <span>worker <a id="worker-url" data-testid="worker-url" class="mono">—</a></span>
    <span>service <b id="worker-service-state" data-testid="worker-service-state">—</b></span>
    <span>uptime <b id="uptime" data-testid="uptime">—</b></span>
    <span>pid <b id="pid" data-testid="pid" class="mono">—</b></span>
  </div>
</header>
<div class="banner" id="banner" data-testid="disconnected-banner" role="alert" hidden></div>
<main>
  <section class="cards s12" aria-label="summary">
    ${card('events-per-second', 'events / s', 'accent-blue')}
    ${card('messages-in-per-second', 'messages in / s', 'accent-teal')}
    ${card('messages-sent-per-second', 'messages sent / s', 'accent-purple', 'total <span class="num" id="messages-sent" data-testid="messages-sent">—</span>')}
    ${card('runtime-avg', 'event runtime (ms)')}
    ${card('lag-total', 'total lag', 'accent-amber')}
    ${card('events-total', 'events total')}
    ${card('messages-received', 'messages received')}
    ${card('send-errors', 'send errors')}
  </section>

  <section class="panel s8">
    <h2>Throughput <span class="aside">rates between consecutive 1 s samples</span></h2>
    <div class="legend">
      <span><span class="sw" style="background:#58a6ff"></span>events/s<b id="legend-events">—</b></span>
      <span><span class="sw" style="background:#39c5cf"></span>messages in/s<b id="legend-received">—</b></span>
      <span><span class="sw" style="background:repeating-linear-gradient(90deg,#bc8cff 0 5px,transparent 5px 8px)"></span>messages sent/s<b id="legend-sent">—</b></span>
    </div>
    <div class="chart-wrap">
      <svg id="chart" data-testid="chart" role="img" aria-label="throughput over time" preserveAspectRatio="none"></svg>
      <div class="tip" id="chart-tip"></div>
    </div>
  </section>

  <section class="s4" style="display:flex;flex-direction:column;gap:16px;min-width:0">
    <div class="panel" id="recovery-panel" data-testid="recovery">
      <h2>Table recovery</h2>
      <div class="body">
        <div class="recovery-head"><span class="pill" id="recovery-ready" data-testid="recovery-ready">—</span><span class="pct" id="recovery-pct"></span></div>
        <div class="progress" id="recovery-progress"><div class="bar big"><span style="width:0"></span></div></div>
        <dl class="kv">
          ${kv('recovery-remaining', 'remaining records')}
          ${kv('recovery-restored', 'restored records')}
          ${kv('recovery-rate', 'rate')}
          ${kv('recovery-eta', 'eta')}
          ${kv('recovery-active', 'partitions recovering')}
          ${kv('recovery-finished', 'recoveries finished')}
        </dl>
      </div>
    </div>
    <div class="panel">
      <h2>Commits, sends, assignments</h2>
      <div class="body">
        <dl class="kv">
          ${kv('commits-total', 'commits')}
          ${kv('commit-latency', 'commit latency avg')}
          ${kv('send-latency', 'send latency avg')}
          ${kv('assignments', 'assignments')}
          ${kv('assignment-latency', 'assignment latency avg')}
          ${kv('http-requests', 'web requests')}
          ${kv('http-latency', 'web latency avg')}
        </dl>
      </div>
    </div>
  </section>

  <section class="panel s7">
    <h2>Agents <span class="aside" id="agents-count"></span></h2>
    <div class="scroll"><table>
      <thead><tr><th>name</th><th>topics</th><th class="n">concurrency</th><th>state</th><th class="n">events</th><th class="n">runtime avg (ms)</th></tr></thead>
      <tbody id="agents-body"></tbody>
    </table></div>
  </section>

  <section class="panel s5">
    <h2>Topics <span class="aside" id="topics-count"></span></h2>
    <div class="scroll"><table>
      <thead><tr><th>topic</th><th class="n">received</th><th class="n">sent</th></tr></thead>
      <tbody id="topics-body"></tbody>
    </table></div>
  </section>

  <section class="panel s12">
    <h2>Partitions: offsets and lag <span class="aside"><span id="partitions-count"></span> · lag = end − committed; end offsets refresh every few seconds</span></h2>
    <div class="scroll"><table>
      <thead><tr><th>topic</th><th class="n">partition</th><th class="n">committed</th><th class="n">read</th><th class="n">end</th><th class="n">lag</th><th class="n">buffer full</th></tr></thead>
      <tbody id="partitions-body"></tbody>
    </table></div>
  </section>

  <section class="panel s12">
    <h2>Tables <span class="aside" id="tables-count"></span></h2>
    <div class="scroll"><table>
      <thead><tr><th>name / changelog</th><th>kind</th><th>window</th><th class="n">partitions</th><th>active</th><th>standby</th><th class="n">keys</th><th class="n">reads</th><th class="n">writes</th><th class="n">deletes</th></tr></thead>
      <tbody id="tables-body"></tbody>
    </table></div>
  </section>

  <section class="panel s6">
    <h2>Recent rebalances <span class="aside" id="rebalances-summary"></span></h2>
    <div class="scroll"><table>
      <thead><tr><th>time</th><th class="n">gen.</th><th class="n">revoked</th><th class="n">assigned</th><th class="n" title="ms from the revoke to the new assignment">ms to assignment</th><th class="n" title="ms from the revoke to the end of table recovery">ms to ready</th></tr></thead>
      <tbody id="rebalances-body"></tbody>
    </table></div>
  </section>

  <section class="panel s6">
    <h2>Router <span class="aside">table partitions by worker · last assignment</span></h2>
    <div class="body" id="router-body" data-testid="router"><div class="faint">loading…</div></div>
  </section>
</main>
<footer>faust-ts dashboard · polls <span class="mono">/stats</span> every second and <span class="mono">/router</span> every 5 seconds · JSON at <a href="stats" style="color:inherit">/stats</a>, <a href="router" style="color:inherit">/router</a>, <a href="metrics" style="color:inherit">/metrics</a></footer>
<script>${SCRIPT}</script>
</body>
</html>
`
}
