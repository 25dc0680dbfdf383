import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ComposeEmulator } from '../compose/emulator.js';
import { routeRequest, upstreamSeesUpgrade } from '../nginx/proxy-route.js';
import { nginxErrorPage } from './nginx-pages.js';
import { originAllowed, streamlitAnswer, type StreamlitFlavour } from './streamlit.js';

export interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
}

type Decision =
  | { kind: 'answer'; status: number; body: string; contentType: string; headers?: Record<string, string> }
  | { kind: 'upgrade' };

// The public URL of the proxy: every answer follows the running container's live config and the faults.
export async function startEndpoint(emulator: ComposeEmulator, streamlit: StreamlitFlavour): Promise<Endpoint> {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<Duplex>();
  const decide = (req: IncomingMessage): Decision => decideFor(emulator, streamlit, req);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const decision = decide(req);
    const answer = decision.kind === 'answer' ? decision : { status: 400, body: nginxErrorPage(400), contentType: 'text/html' };
    emulator.recordAccess(req.method ?? 'GET', req.url ?? '/', answer.status, String(req.headers['user-agent'] ?? '-'));
    const extra = 'headers' in answer ? answer.headers : undefined;
    res.writeHead(answer.status, { Server: 'nginx', Date: new Date(emulator.now()).toUTCString(), 'Content-Type': answer.contentType, 'Content-Length': Buffer.byteLength(answer.body), ...extra });
    res.end(answer.body);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decision = decide(req);
    const status = decision.kind === 'upgrade' ? 101 : decision.status;
    emulator.recordAccess(req.method ?? 'GET', req.url ?? '/', status, String(req.headers['user-agent'] ?? '-'));
    if (decision.kind === 'upgrade') {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => ws.terminate());
      });
      return;
    }
    const body = req.method === 'HEAD' ? '' : decision.body;
    socket.end(
      `HTTP/1.1 ${decision.status} ${STATUS_CODES[decision.status] ?? ''}\r\nServer: nginx\r\n` +
        `Date: ${new Date(emulator.now()).toUTCString()}\r\nContent-Type: ${decision.contentType}\r\n` +
        Object.entries(decision.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
        `Content-Length: ${Buffer.byteLength(decision.body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      wss.close();
    },
  };
}

// Front-door faults, then the proxy's state, then the live config's route, then the app's answer.
function decideFor(emulator: ComposeEmulator, streamlit: StreamlitFlavour, req: IncomingMessage): Decision {
  const faults = emulator.options.faults;
  const page = (status: number): Decision => ({ kind: 'answer', status, body: nginxErrorPage(status), contentType: 'text/html' });
  if (faults.has('forbidden')) return page(403);
  const proxy = emulator.proxy();
  if (!proxy || emulator.status(proxy).state !== 'running' || proxy.crash !== undefined || !proxy.check.ok) return page(502);
  if (faults.has('upstream-down')) return page(502);

  const path = new URL(req.url ?? '/', 'http://fake-host').pathname;
  const route = routeRequest(proxy.check.tree, { path, headers: req.headers });
  if (!route) return page(404);
  if (route.returnCode !== undefined) return page(route.returnCode);
  if (route.proxyPass === undefined) return page(404);
  // The proxy reaches the upstream its live config names: a tunnel that is not up is a 502.
  if (!emulator.upstreamAnswers(route.proxyPass)) return page(502);
  emulator.upstreamHits.push(new URL(route.proxyPass).origin);

  const wantsUpgrade = /\bwebsocket\b/i.test(String(req.headers.upgrade ?? ''));
  if (path === '/_stcore/stream' && wantsUpgrade && upstreamSeesUpgrade(route) && !faults.has('no-handshake')) {
    // fault origin-check: the app compares a browser's Origin with the Host the proxy rewrote (real Streamlit
    // with its default XSRF/CORS settings); off by default, like an app configured to accept its public origin.
    if (faults.has('origin-check') && !originAllowed(req.headers.origin, route.upstreamHeaders.host)) {
      return { kind: 'answer', status: 403, body: '', contentType: 'text/plain; charset=UTF-8' };
    }
    return { kind: 'upgrade' };
  }
  const answer = streamlitAnswer(streamlit, req.method ?? 'GET', path, faults.has('health-fails'));
  return { kind: 'answer', ...answer, headers: addedHeaders(route.addHeaders, answer.status) };
}

// nginx's add_header: only on these statuses unless `always` is given.
const ADD_HEADER_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

function addedHeaders(list: readonly { name: string; value: string; always: boolean }[], status: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { name, value, always } of list) if (always || ADD_HEADER_STATUSES.has(status)) headers[name] = value;
  return headers;
}
