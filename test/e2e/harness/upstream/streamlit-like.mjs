// A Streamlit-like app behind an ngrok-like HTTPS endpoint: the upstream the proxy forwards to.
// Runs as a child process (forked by upstream.ts) so a test that blocks its own event loop
// (spawnSync of the CLI) cannot stall the upstream that nginx talks to.
//
// Environment: UPSTREAM_CERT, UPSTREAM_KEY (PEM paths), UPSTREAM_CONTROL_DIR (holds faults/<name>
// and upstream-mode, read on every request so a switch takes effect at once).
// IPC: → {type:'listening', port}; ← {type:'sync'|'requests'|'clear-requests', id} → {type:'reply', id, ...}.
import { readFileSync, existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

const controlDir = requiredEnv('UPSTREAM_CONTROL_DIR');
const faultsDir = join(controlDir, 'faults');
const modeFile = join(controlDir, 'upstream-mode');
const requests = [];
let port = Number(process.env.UPSTREAM_PORT ?? 0);

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`streamlit-like upstream: ${name} is not set`);
  return value;
}

// A fault is on while its file exists; the harness writes and removes those files.
function fault(name) {
  return existsSync(join(faultsDir, name));
}

// 'seed' answers a plain request on the stream endpoint with 426 (what the runbook expects);
// 'tornado' answers like real Streamlit's Tornado server (GET 400, HEAD 405).
function mode() {
  try {
    return readFileSync(modeFile, 'utf8').trim() === 'tornado' ? 'tornado' : 'seed';
  } catch {
    return 'seed';
  }
}

function record(req, upgrade) {
  const entry = {
    time: new Date().toISOString(),
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    headers: req.headers,
    upgrade,
    status: 0,
  };
  requests.push(entry);
  if (requests.length > 500) requests.shift();
  return entry;
}

// What a non-upgrade request to /_stcore/stream gets, by mode.
function plainStreamAnswer(method) {
  if (mode() === 'tornado') {
    if (method === 'GET') return { status: 400, body: 'Can "Upgrade" only to "WebSocket".' };
    return { status: 405, body: '<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>' };
  }
  return { status: 426, body: 'Upgrade Required', headers: { Upgrade: 'websocket' } };
}

const PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>ocapistaine</title></head>
<body data-ws="connecting">
<noscript>You need to enable JavaScript to run this app.</noscript>
<h1>ocapistaine (e2e upstream)</h1>
<p id="status">connecting</p>
<script>
  const status = document.getElementById('status');
  const settle = (state, text) => {
    if (document.body.dataset.ws === 'connected') return;
    document.body.dataset.ws = state;
    status.textContent = text;
  };
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/_stcore/stream');
  ws.onopen = () => ws.send('ping');
  ws.onmessage = (event) => settle('connected', 'connected: ' + event.data);
  ws.onerror = () => settle('failed', 'WebSocket connection failed');
  ws.onclose = (event) => settle('failed', 'WebSocket closed: ' + event.code);
</script>
</body>
</html>
`;

function send(res, entry, status, body, headers = {}) {
  entry.status = status;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

// Answers an upgrade request without upgrading: a plain HTTP response on the raw socket.
function refuseUpgrade(socket, entry, status, body, headers = {}) {
  entry.status = status;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (const [k, v] of Object.entries({ 'Content-Type': 'text/plain; charset=utf-8', ...headers })) {
    lines.push(`${k}: ${v}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body);
  socket.end(lines.join('\r\n'));
}

const server = createServer({
  cert: readFileSync(requiredEnv('UPSTREAM_CERT')),
  key: readFileSync(requiredEnv('UPSTREAM_KEY')),
});
const wss = new WebSocketServer({ noServer: true });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

server.on('request', (req, res) => {
  const entry = record(req, false);
  const path = (req.url ?? '/').split('?')[0];
  if (fault('forbidden')) return send(res, entry, 403, 'Forbidden');
  if (path === '/_stcore/health') {
    if (fault('health-fails')) return send(res, entry, 503, 'unavailable');
    return send(res, entry, 200, 'ok');
  }
  if (path === '/_stcore/stream') {
    const answer = plainStreamAnswer(req.method);
    return send(res, entry, answer.status, answer.body, answer.headers);
  }
  if (path === '/' || path === '/index.html') {
    return send(res, entry, 200, PAGE, { 'Content-Type': 'text/html; charset=utf-8' });
  }
  return send(res, entry, 404, 'Not Found');
});

server.on('upgrade', (req, socket, head) => {
  const entry = record(req, true);
  socket.on('error', () => {});
  const path = (req.url ?? '/').split('?')[0];
  if (fault('forbidden')) return refuseUpgrade(socket, entry, 403, 'Forbidden');
  if (path !== '/_stcore/stream') return refuseUpgrade(socket, entry, 404, 'Not Found');
  if (fault('no-handshake')) {
    const answer = plainStreamAnswer(req.method);
    return refuseUpgrade(socket, entry, answer.status, answer.body, answer.headers);
  }
  if (fault('origin-check') && req.headers.origin) {
    // Streamlit refuses a WebSocket whose Origin host differs from the Host header it receives.
    let originHost = '';
    try {
      originHost = new URL(req.headers.origin).host;
    } catch {}
    if (originHost !== req.headers.host) return refuseUpgrade(socket, entry, 403, 'Forbidden');
  }
  entry.status = 101;
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

server.on('clientError', (_err, socket) => socket.destroy());

function listen() {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = server.address().port;
      resolve();
    });
  });
}

// upstream-down closes the listening socket for real, so nginx meets "connection refused".
async function syncDown() {
  const down = fault('upstream-down');
  if (down && server.listening) {
    await new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
      for (const client of wss.clients) client.terminate();
    });
  } else if (!down && !server.listening) {
    await listen();
  }
  return { listening: server.listening };
}

process.on('message', async (message) => {
  const { type, id } = message ?? {};
  try {
    if (type === 'sync') process.send?.({ type: 'reply', id, ...(await syncDown()) });
    else if (type === 'requests') process.send?.({ type: 'reply', id, requests });
    else if (type === 'clear-requests') {
      requests.length = 0;
      process.send?.({ type: 'reply', id });
    }
  } catch (error) {
    process.send?.({ type: 'reply', id, error: String(error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

await listen();
process.send?.({ type: 'listening', port });
