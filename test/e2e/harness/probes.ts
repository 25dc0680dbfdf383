// Independent checks of the public endpoint for the harness's own tests (the CLI has its own).
import { request as httpRequestRaw } from 'node:http';
import WebSocket from 'ws';

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

// One plain HTTP request, no keep-alive, no redirects.
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw(url, { method: options.method ?? 'GET', headers: { Connection: 'close', ...options.headers }, agent: false });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface HandshakeResult {
  // 101 when the upgrade succeeded; the HTTP status otherwise; 0 when no answer came.
  status: number;
  echoed?: string;
  body?: string;
  error?: string;
}

// A real WebSocket handshake; on 101 it also proves the tunnel carries data (send → echo).
export function wsHandshake(url: string, options: { origin?: string; timeoutMs?: number } = {}): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, ...(options.origin ? { origin: options.origin } : {}) });
    let settled = false;
    const done = (r: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        ws.terminate();
      } catch {}
      resolve(r);
    };
    const timer = setTimeout(() => done({ status: 0, error: 'timeout' }), timeoutMs + 1000);
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => done({ status: res.statusCode ?? 0 }));
    });
    ws.on('open', () => ws.send('ping from e2e'));
    ws.on('message', (data) => done({ status: 101, echoed: data.toString() }));
    ws.on('error', (error) => done({ status: 0, error: error.message }));
  });
}
