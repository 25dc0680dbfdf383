// Test helpers shared by the fake host's suites: project-dir commands and WebSocket handshakes.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { ExecResult, TestSession } from './ssh-client.js';

export const FIXED_TEMPLATE = readFileSync('runbooks/ocapistaine-ws-fix/ocapistaine.conf.template');
export const BROKEN_TEMPLATE = readFileSync('fixtures/fake-host/vaettir/proxy-configs/ocapistaine.conf.template');

// Runs a command in ~/vaettir, quoted as the product quotes paths.
export function inProject(session: TestSession, command: string, stdin?: Buffer | string): Promise<ExecResult> {
  return session.exec(`cd "$HOME"/'vaettir' && ${command}`, stdin);
}

// Replaces the template over SSH, the way the product writes it.
export async function writeTemplate(session: TestSession, content: Buffer | string): Promise<void> {
  const result = await inProject(session, 'cat > proxy-configs/ocapistaine.conf.template', content);
  if (result.code !== 0) throw new Error(`writing the template failed: ${result.err}`);
}

export interface Handshake {
  status: number;
  echo?: string;
}

// A WebSocket handshake against the endpoint: 101 plus an echoed message, or the refusing status.
export function handshake(baseUrl: string, path = '/_stcore/stream', origin?: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, origin ? { origin } : {});
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => ws.send('ping from test'));
    ws.on('message', (data) => {
      resolve({ status: 101, echo: String(data) });
      ws.close();
    });
    ws.on('error', (error) => reject(error));
  });
}

// Waits a little, for crash windows and slow starts.
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
