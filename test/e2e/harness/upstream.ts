// Starts the Streamlit-like HTTPS upstream (the stand-in for the ngrok tunnel) as a child process
// and talks to it over IPC. Its faults and mode are files in the host's control dir. It runs inside the
// engine's network namespace, where the container's nginx (network_mode: host) reaches it on loopback.
// startRelay() puts the container's port 80 in that namespace on a loopback port of the machine.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { terminate } from './system.js';

const SCRIPT = fileURLToPath(new URL('./upstream/streamlit-like.mjs', import.meta.url));
const RELAY = fileURLToPath(new URL('./upstream/relay.mjs', import.meta.url));

// fork(), inside a network namespace when one is given (nsenter execs node, which keeps the IPC channel).
function forkIn(netns: string | undefined, script: string, options: ForkOptions): ChildProcess {
  if (!netns) return fork(script, [], { ...options, execArgv: [] });
  return fork(script, [], { ...options, execPath: '/usr/bin/nsenter', execArgv: [`--net=${netns}`, '--', process.execPath] });
}

export interface Relay {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

// A loopback port of this machine whose connections are piped to 127.0.0.1:targetPort inside netns.
export async function startRelay(o: { netns: string; targetPort: number; logPath: string; listenPort?: number }): Promise<Relay> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listenPort ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const logFd = openSync(o.logPath, 'a');
  const child = forkIn(o.netns, RELAY, { env: { ...process.env, RELAY_TARGET_PORT: String(o.targetPort) }, stdio: ['ignore', logFd, logFd, 'ipc'] });
  closeSync(logFd);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay did not start; see ${o.logPath}`)), 10_000);
      child.once('exit', (code) => reject(new Error(`relay exited ${code}; see ${o.logPath}`)));
      child.on('message', (m: { type?: string }) => {
        if (m?.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.send('server', server);
    });
  } finally {
    // The child holds the listening socket now; this process accepts nothing on it.
    server.close();
  }
  child.removeAllListeners('exit');
  child.unref();
  child.channel?.unref();
  return {
    port,
    pid: child.pid as number,
    stop: async () => {
      if (child.pid) await terminate([child.pid], 2000);
    },
  };
}

export interface UpstreamRequest {
  time: string;
  method: string;
  url: string;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  upgrade: boolean;
  status: number;
}

export interface Upstream {
  port: number;
  pid: number;
  // Re-reads the upstream-down switch: closes or reopens the listening socket.
  sync(): Promise<void>;
  requests(): Promise<UpstreamRequest[]>;
  clearRequests(): Promise<void>;
  stop(): Promise<void>;
}

interface Reply {
  type: 'reply';
  id: number;
  error?: string;
  requests?: UpstreamRequest[];
}

export async function startUpstream(o: { certPath: string; keyPath: string; controlDir: string; logPath: string; netns?: string }): Promise<Upstream> {
  const logFd = openSync(o.logPath, 'a');
  const child: ChildProcess = forkIn(o.netns, SCRIPT, {
    env: { ...process.env, UPSTREAM_CERT: o.certPath, UPSTREAM_KEY: o.keyPath, UPSTREAM_CONTROL_DIR: o.controlDir },
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`upstream did not start; see ${o.logPath}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`upstream exited ${code}; see ${o.logPath}`)));
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'listening' && m.port) {
        clearTimeout(timer);
        resolve(m.port);
      }
    });
  });
  child.removeAllListeners('exit');
  // The harness must not keep the test process alive through this child.
  child.unref();
  child.channel?.unref();

  let nextId = 1;
  const ask = (type: string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      child.channel?.ref();
      const onMessage = (m: Reply) => {
        if (m?.type === 'reply' && m.id === id) {
          child.off('message', onMessage);
          child.channel?.unref();
          if (m.error) reject(new Error(`upstream: ${m.error}`));
          else resolve(m);
        }
      };
      child.on('message', onMessage);
      child.send({ type, id });
    });

  return {
    port,
    pid: child.pid as number,
    sync: async () => {
      await ask('sync');
    },
    requests: async () => (await ask('requests')).requests ?? [],
    clearRequests: async () => {
      await ask('clear-requests');
    },
    stop: async () => {
      if (child.pid) await terminate([child.pid], 2000);
    },
  };
}
