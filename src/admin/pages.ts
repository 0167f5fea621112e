/** The admin server's two pages, kept in the code so that they ship inside the bundle. */

/** The dashboard: polls the JSON API with the bearer token kept in sessionStorage. */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>p2prc admin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  #status { color: #5b6475; }
  #status.down { color: #b3261e; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6eb; white-space: nowrap; }
  th { font-weight: 600; background: #eef0f4; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.empty { color: #5b6475; font-style: italic; }
  canvas { display: block; }
  .off { color: #9aa1ad; }
</style>
</head>
<body>
<h1>p2prc <span id="role"></span></h1>
<div id="status">loading...</div>

<h2>Clients</h2>
<table id="clients">
  <thead><tr><th>Name</th><th>Address</th><th>Since</th><th>Tunnels</th><th>Bytes in</th><th>Bytes out</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Tunnels</h2>
<table id="tunnels">
  <thead><tr><th>Name</th><th>Owner</th><th>Public</th><th>Target</th><th>Proto</th><th>Engine</th><th>Visitors now</th><th>Visitors total</th><th>Bytes in</th><th>Bytes out</th><th>Traffic (bytes/s, last 60 polls)</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Recent refusals</h2>
<table id="refusals">
  <thead><tr><th>Time</th><th>Reason</th><th>Peer</th><th>Detail</th></tr></thead>
  <tbody></tbody>
</table>

<script>
(() => {
  const token = sessionStorage.getItem('p2prc-admin-token');
  const interval = Math.max(250, Number(new URLSearchParams(location.search).get('interval')) || 1000);
  const history = new Map(); // tunnel key -> { last: {at, bytes}, rates: number[] }
  let refusals = [];
  let lastSeq = 0;

  const get = async (path) => {
    const res = await fetch(path, { headers: token ? { authorization: 'Bearer ' + token } : {} });
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.json();
  };
  const fmtBytes = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB';
  const cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = String(text);
    if (cls) td.className = cls;
    return td;
  };
  const fill = (table, rows, cols, emptyText) => {
    const body = document.querySelector('#' + table + ' tbody');
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(emptyText, 'empty');
      td.colSpan = cols;
      tr.append(td);
      body.append(tr);
    }
    for (const r of rows) body.append(r);
  };

  function chart(rates) {
    const c = document.createElement('canvas');
    c.width = 180; c.height = 28;
    const g = c.getContext('2d');
    const max = Math.max(1, ...rates);
    g.strokeStyle = '#2f6fd6';
    g.beginPath();
    rates.forEach((v, i) => {
      // Newest sample at the right edge, so a young tunnel's chart grows leftwards like a ticker.
      const x = ((59 - (rates.length - 1 - i)) / 59) * (c.width - 1), y = c.height - 1 - (v / max) * (c.height - 2);
      i === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
    });
    g.stroke();
    c.title = 'peak ' + fmtBytes(Math.round(max)) + '/s';
    return c;
  }

  function rateOf(t, now) {
    const key = t.owner + '/' + t.name + '/' + t.publicPort;
    const bytes = t.bytesIn + t.bytesOut;
    const h = history.get(key) || { last: undefined, rates: [] };
    if (h.last) h.rates.push(Math.max(0, (bytes - h.last.bytes) / ((now - h.last.at) / 1000)));
    if (h.rates.length > 60) h.rates.shift();
    h.last = { at: now, bytes };
    history.set(key, h);
    return h.rates;
  }

  async function poll() {
    const status = document.getElementById('status');
    try {
      const [c, t, e] = await Promise.all([get('/api/clients'), get('/api/tunnels'), get('/api/events?after=' + lastSeq)]);
      const now = Date.now();
      document.getElementById('role').textContent = c.role;
      fill('clients', c.clients.map((x) => {
        const tr = document.createElement('tr');
        tr.append(cell(x.name), cell(x.address), cell(new Date(x.since).toLocaleString()), cell(x.tunnels, 'num'), cell(fmtBytes(x.bytesIn), 'num'), cell(fmtBytes(x.bytesOut), 'num'));
        return tr;
      }), 6, 'no clients connected');
      fill('tunnels', t.tunnels.map((x) => {
        const tr = document.createElement('tr');
        tr.dataset.tunnel = x.name;
        if (!x.online) tr.className = 'off';
        tr.append(cell(x.name), cell(x.owner), cell(x.domain ?? x.publicPort ?? '-'), cell(x.target ?? '-'), cell(x.protocol), cell(x.engine),
          cell(x.visitorsNow, 'num visitors-now'), cell(x.visitorsTotal, 'num visitors-total'), cell(fmtBytes(x.bytesIn), 'num'), cell(fmtBytes(x.bytesOut), 'num'));
        const td = document.createElement('td');
        td.append(chart(rateOf(x, now)));
        tr.append(td);
        return tr;
      }), 11, 'no tunnels open');
      for (const ev of e.events) {
        lastSeq = Math.max(lastSeq, ev.seq);
        if (ev.type === 'refused') refusals.unshift(ev);
      }
      refusals = refusals.slice(0, 50);
      // Strangers' refusals (before login) come counted per reason, then the listed ones.
      const strangers = (e.strangers || []).map((x) => {
        const tr = document.createElement('tr');
        tr.append(cell(new Date(x.last).toLocaleTimeString()), cell(x.reason), cell(x.peer ?? '-'), cell(x.count + ' before login since ' + new Date(x.first).toLocaleString() + '; last: ' + x.message));
        return tr;
      });
      fill('refusals', strangers.concat(refusals.map((x) => {
        const tr = document.createElement('tr');
        tr.append(cell(new Date(x.time).toLocaleTimeString()), cell(x.reason ?? '-'), cell(x.peer ?? '-'), cell(x.message));
        return tr;
      })), 4, 'no refusals');
      status.className = '';
      status.textContent = 'updated ' + new Date(now).toLocaleTimeString() + ' (every ' + interval + ' ms)';
    } catch (err) {
      status.className = 'down';
      status.textContent = 'cannot reach the admin API: ' + err.message;
    } finally {
      setTimeout(poll, interval);
    }
  }
  poll();
})();
</script>
</body>
</html>
`;

/** The token prompt shown before the dashboard. */
export const LOGIN_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>p2prc admin: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px system-ui, sans-serif; margin: 4rem auto; max-width: 28rem; color: #1d2330; }
  input { width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }
  button { margin-top: .75rem; padding: .45rem 1.2rem; font: inherit; }
  #error { color: #b3261e; min-height: 1.2em; }
</style>
</head>
<body>
<h1>p2prc admin</h1>
<p>This page needs the host's token (printed at start, or in <code>host/token.txt</code> under the config directory).
It is kept in this tab only and sent as <code>Authorization: Bearer</code>.</p>
<form id="login">
  <label for="token">Token</label>
  <input id="token" type="password" autocomplete="off" autofocus>
  <button type="submit">Open dashboard</button>
</form>
<p id="error" role="alert"></p>
<script>
  // The server answers every route only with the bearer header, so the dashboard itself is fetched
  // with it and written into this document. A "#token=" fragment never reaches the server.
  const KEY = 'p2prc-admin-token';
  async function open(token) {
    const res = await fetch(location.pathname + location.search, { headers: { authorization: 'Bearer ' + token, accept: 'text/html' } });
    if (res.status !== 200) {
      sessionStorage.removeItem(KEY);
      document.getElementById('error').textContent = res.status === 401 ? 'Wrong token.' : 'Error ' + res.status;
      return;
    }
    sessionStorage.setItem(KEY, token);
    const html = await res.text();
    document.open();
    document.write(html);
    document.close();
  }
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) history.replaceState(null, '', location.pathname + location.search);
  const known = fromHash || sessionStorage.getItem(KEY);
  if (known) open(known);
  document.getElementById('login').addEventListener('submit', (e) => {
    e.preventDefault();
    open(document.getElementById('token').value.trim());
  });
</script>
</body>
</html>
`;
