// Step 8 from the operator's machine: a real WebSocket handshake, a plain request, and the health endpoint.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WebSocket } from 'ws';

export interface ProbeResult {
  /** The HTTP status, 101 for a completed handshake; null when no answer came. */
  status: number | null;
  error?: string;
}

/** The ws:// or wss:// URL of an http(s) URL's path. */
export function websocketUrl(base: string, path: string): string {
  const url = new URL(path, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Opens a WebSocket and reports 101 on success or the status the server answered instead. */
export function websocketHandshake(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: timeoutMs, headers });
    const done = (result: ProbeResult): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      resolve(result);
    };
    socket.on('upgrade', () => done({ status: 101 }));
    socket.on('unexpected-response', (_request, response) => {
      response.resume();
      done({ status: response.statusCode ?? null, error: `answered ${response.statusCode} ${response.statusMessage ?? ''}`.trim() });
    });
    socket.on('error', (error) => done({ status: null, error: error.message }));
  });
}

/**
 * A plain request without redirects; any answer counts, only no answer is an error. node:http rather than fetch:
 * fetch compiles a WebAssembly parser in the background that holds the process's exit for 0.1-0.5 s.
 */
export function httpStatus(url: string, method: 'GET' | 'HEAD', timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(target, { method, timeout: timeoutMs, headers: { 'user-agent': 'apply-ws-fix' } }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? null });
      request.destroy();
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ status: null, error: error.code ?? error.message }));
    request.end();
  });
}
