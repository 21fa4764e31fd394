/**
 * The fleet page's three files, served by the dashboard itself (clusters often have no
 * internet: no CDN, no web font). The script builds every element with textContent — job
 * names and ids come from whoever enqueued them — and polls /fleet/api every 1.5 s.
 */

export const FLEET_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bouy · fleet</title>
<link rel="stylesheet" href="fleet/fleet.css">
<script src="fleet/fleet.js" defer></script>
</head>
<body>
<header>
  <h1>bouy fleet</h1>
  <nav><a href="./">queues (bull-board)</a> · <a href="fleet/api">JSON</a></nav>
  <span id="status" role="status">loading…</span>
</header>
<main>
  <section id="summary" aria-label="summary"></section>
  <section id="containers" aria-label="containers"></section>
  <section aria-label="recent events">
    <h2>Recent events</h2>
    <div class="scroll"><table id="events"><thead><tr><th>when</th><th>container</th><th>worker</th><th>event</th></tr></thead><tbody></tbody></table></div>
  </section>
</main>
<dialog id="confirm">
  <form method="dialog">
    <p id="confirm-text"></p>
    <label id="confirm-input-label" hidden>workers <input id="confirm-input" type="number" min="1" max="20" step="1"></label>
    <menu><button value="cancel" formnovalidate>Cancel</button> <button value="ok" id="confirm-ok" class="danger">Confirm</button></menu>
  </form>
</dialog>
</body>
</html>
`;

export const FLEET_CSS = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --ok:#12824c; --busy:#1f5fd1; --warn:#b54708; --bad:#c01048; --quiet:#6941c6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:baseline; padding:.75rem 1rem; background:var(--ink); color:#fff; }
header h1 { font-size:1.1rem; margin:0; }
header a { color:#c7d7fe; }
#status { margin-left:auto; font-size:.85rem; color:#d0d5dd; }
main { padding:1rem; max-width:1200px; margin:0 auto; }
h2 { font-size:1rem; margin:1.25rem 0 .5rem; }
#summary { display:grid; grid-template-columns:repeat(auto-fit, minmax(140px, 1fr)); gap:.5rem; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.6rem .75rem; }
.stat b { display:block; font-size:1.25rem; }
.stat span { color:var(--muted); font-size:.8rem; }
.container { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:1rem 0; padding:.75rem; }
.container h2 { margin:0 .5rem 0 0; display:inline; }
.meta { color:var(--muted); font-size:.85rem; margin:.25rem 0 .5rem; }
.actions { display:flex; flex-wrap:wrap; gap:.4rem; margin:.5rem 0; }
button { font:inherit; padding:.35rem .7rem; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; min-height:2.2rem; }
button:hover { border-color:var(--muted); }
button.danger { background:var(--bad); border-color:var(--bad); color:#fff; }
button:disabled { opacity:.5; cursor:default; }
.scroll { overflow-x:auto; }
table { width:100%; border-collapse:collapse; background:var(--card); }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:.8rem; }
td.jobs { white-space:normal; min-width:12rem; }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:999px; font-size:.75rem; font-weight:600; color:#fff; background:var(--muted); }
.state-ready { background:var(--ok); } .state-busy { background:var(--busy); } .state-starting { background:#475467; }
.state-draining, .state-restarting { background:var(--warn); } .state-crash-loop { background:var(--bad); }
.state-quiet { background:var(--quiet); } .state-stopped { background:#98a2b3; } .leader { background:#b42318; }
.job { display:block; font-family:ui-monospace, monospace; font-size:.8rem; }
.ok { color:var(--ok); } .bad { color:var(--bad); }
dialog { border:1px solid var(--line); border-radius:8px; max-width:min(28rem, 92vw); }
dialog menu { display:flex; justify-content:flex-end; gap:.5rem; padding:0; margin:1rem 0 0; }
dialog input { font:inherit; width:5rem; padding:.3rem; }
@media (max-width: 600px) { main { padding:.5rem; } th, td { padding:.3rem; } }
`;

export const FLEET_JS = String.raw`'use strict';
(function () {
  var REFRESH_MS = 1500;
  var skew = 0;
  var pending = null;
  // The page is rebuilt on every poll; a button replaced between press and release would lose
  // the click, so nothing is rebuilt while a pointer is down or the confirmation is open.
  var pressed = false;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] == null) return;
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'onclick') node.addEventListener('click', attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function mib(bytes) { return bytes == null ? '–' : (bytes / 1048576).toFixed(0) + ' MiB'; }
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function ago(at) { return duration((Date.now() - skew - at) / 1000) + ' ago'; }
  function stat(value, label, attrs) { return el('div', Object.assign({ 'class': 'stat' }, attrs || {}), [el('b', { text: String(value) }), el('span', { text: label })]); }

  function confirmThen(text, withInput, initial, act) {
    var dialog = document.getElementById('confirm');
    var input = document.getElementById('confirm-input');
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-input-label').hidden = !withInput;
    input.value = initial == null ? '' : String(initial);
    pending = function () { act(withInput ? Number(input.value) : undefined); };
    dialog.returnValue = '';
    dialog.showModal();
  }
  function send(command) {
    setStatus('sending ' + command.action + '…');
    fetch('fleet/api/commands', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-bouy-fleet': '1' },
      body: JSON.stringify(command),
    }).then(function (r) {
      return r.json().then(function (body) { setStatus(r.status === 202 ? command.action + ' sent to ' + command.host : 'refused: ' + (body.message || r.status)); });
    }, function (e) { setStatus('could not send: ' + e); }).then(refresh);
  }
  function setStatus(text) { document.getElementById('status').textContent = text; }

  function workerRow(c, w) {
    var now = Date.now() - skew;
    var jobs = el('td', { 'class': 'jobs' }, w.jobs.map(function (j) {
      return el('span', { 'class': 'job', text: j.queue + ' · ' + j.name + ' #' + j.id + ' · ' + duration((now - j.started_at) / 1000) });
    }));
    if (w.jobs_active > w.jobs.length) jobs.appendChild(el('span', { 'class': 'job', text: '+' + (w.jobs_active - w.jobs.length) + ' more' }));
    var recycles = Object.keys(w.recycles).map(function (k) { return k + ' ' + w.recycles[k]; }).join(', ') || '0';
    if (w.recycle_refused) recycles += ' (refused: ' + w.recycle_refused + ')';
    return el('tr', { 'data-worker': w.name, 'data-pid': String(w.pid == null ? '' : w.pid), 'data-state': w.state }, [
      el('td', { text: w.name }),
      el('td', { 'class': 'pid', text: w.pid == null ? '–' : String(w.pid) }),
      el('td', {}, [el('span', { 'class': 'badge state-' + w.state, text: w.state })]),
      el('td', { text: mib(w.rss_bytes) }),
      jobs,
      el('td', {}, [el('span', { 'class': 'ok', text: String(w.jobs_completed) }), ' / ', el('span', { 'class': 'bad', text: String(w.jobs_failed) })]),
      el('td', { text: String(w.restarts) + (w.last_exit ? ' (' + w.last_exit + ')' : '') }),
      el('td', { text: recycles }),
      el('td', {}, [el('button', { type: 'button', 'data-action': 'recycle-worker', disabled: w.pid == null ? 'disabled' : null, onclick: function () {
        confirmThen('Recycle ' + w.name + '? It finishes its running jobs, then a new process takes its place.', false, null, function () {
          send({ action: 'recycle', host: c.host, worker: w.index });
        });
      } , text: 'Recycle' })]),
    ]);
  }

  // WORKER_COUNT=MIN-MAX: where the autoscaler is and is going; auto: that it was computed.
  function scaling(s) {
    if (!s || s.mode === 'fixed') return '';
    if (s.mode === 'auto') return ' · workers ' + s.current + ' (auto)';
    return ' · workers ' + s.current + ' (min ' + s.min + ', max ' + s.max + ', target ' + s.target + ')';
  }

  function container(c) {
    var badges = [c.leader ? el('span', { 'class': 'badge leader', text: 'leader' }) : null, c.quiet ? el('span', { 'class': 'badge state-quiet', text: 'quiet' }) : null];
    var head = el('div', {}, [el('h2', { text: c.host })].concat(badges));
    var meta = el('div', { 'class': 'meta', text: 'version ' + c.version + ' · up ' + duration(c.uptime_s) + ' · health port ' + (c.health_port == null ? '–' : c.health_port)
      + ' · restarts ' + c.restarts + ' · ' + c.queues.join(', ') + ' × ' + c.concurrency + scaling(c.scaling) + ' · fingerprint ' + c.fingerprint + ' · seen ' + ago(c.at) });
    var actions = el('div', { 'class': 'actions' }, [
      el('button', { type: 'button', 'data-action': 'quiet', disabled: c.quiet ? 'disabled' : null, text: c.quiet ? 'Quiet' : 'Quiet…', onclick: function () {
        confirmThen('Quiet ' + c.host + '? Its workers take no new jobs and finish the running ones; it stays quiet until it is stopped.', false, null, function () {
          send({ action: 'quiet', host: c.host });
        });
      } }),
      el('button', { type: 'button', 'data-action': 'recycle-all', text: 'Recycle all…', onclick: function () {
        confirmThen('Recycle every worker of ' + c.host + ', one at a time?', false, null, function () { send({ action: 'recycle', host: c.host, worker: 'all' }); });
      } }),
      el('button', { type: 'button', 'data-action': 'resize', text: 'Resize…', onclick: function () {
        confirmThen('Number of worker processes in ' + c.host + ' (1–20; fewer are drained, never cut off):', true, c.workers.length, function (n) {
          send({ action: 'resize', host: c.host, workers: n });
        });
      } }),
    ]);
    var table = el('table', {}, [
      el('thead', {}, [el('tr', {}, ['worker', 'pid', 'state', 'RSS', 'current jobs', 'done / failed', 'restarts', 'recycles', ''].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, c.workers.map(function (w) { return workerRow(c, w); })),
    ]);
    return el('section', { 'class': 'container', 'data-host': c.host, 'data-quiet': String(c.quiet) }, [head, meta, actions, el('div', { 'class': 'scroll' }, [table])]);
  }

  function render(data) {
    var s = data.summary;
    var agreement = s.agreement.consistent ? 'agree' : 'DIFFER';
    var fps = Object.keys(s.agreement.fingerprints).join(', ') || '–';
    var versions = Object.keys(s.agreement.versions).join(', ') || '–';
    document.getElementById('summary').replaceChildren(
      stat(s.containers, 'containers' + (s.quiet_containers ? ' (' + s.quiet_containers + ' quiet)' : ''), { 'data-stat': 'containers' }),
      stat(s.workers, 'worker processes', { 'data-stat': 'workers' }),
      stat(s.busy_slots + ' / ' + s.total_slots, 'busy job slots · ' + s.utilization_pct + ' %', { 'data-stat': 'slots' }),
      stat(mib(s.rss_bytes), 'total RSS', { 'data-stat': 'rss' }),
      stat(s.leaders.join(', ') || 'none', 'leader', { 'data-stat': 'leader' }),
      stat(agreement, 'fingerprint ' + fps + ' · version ' + versions, { 'data-stat': 'agreement' })
    );
    document.getElementById('containers').replaceChildren.apply(document.getElementById('containers'), data.containers.map(container));
    document.querySelector('#events tbody').replaceChildren.apply(document.querySelector('#events tbody'), data.events.map(function (e) {
      return el('tr', { 'data-kind': e.kind }, [el('td', { text: ago(e.at) }), el('td', { text: e.host }), el('td', { text: e.worker || '' }), el('td', { text: e.kind + ': ' + e.message })]);
    }));
  }

  function refresh() {
    return fetch('fleet/api', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (data) {
      skew = Date.now() - data.at;
      if (pressed || document.getElementById('confirm').open) return;
      render(data);
      setStatus('updated ' + new Date().toLocaleTimeString());
    }, function (e) { setStatus('not updated: ' + e.message); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.addEventListener('pointerdown', function () { pressed = true; }, true);
    ['pointerup', 'pointercancel'].forEach(function (type) { document.addEventListener(type, function () { pressed = false; }, true); });
    var dialog = document.getElementById('confirm');
    dialog.addEventListener('close', function () {
      var act = pending;
      pending = null;
      if (dialog.returnValue === 'ok' && act) act();
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
  });
})();
`;
