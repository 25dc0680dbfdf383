// Starts the Streamlit-like HTTPS upstream (the stand-in for the ngrok tunnel) as a child process
// and talks to it over IPC. Its faults and mode are files in the host's control dir.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { terminate } from './system.js';

const SCRIPT = fileURLToPath(new URL('./upstream/streamlit-like.mjs', import.meta.url));

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

export async function startUpstream(o: { certPath: string; keyPath: string; controlDir: string; logPath: string }): Promise<Upstream> {
  const logFd = openSync(o.logPath, 'a');
  const child: ChildProcess = fork(SCRIPT, [], {
    env: { ...process.env, UPSTREAM_CERT: o.certPath, UPSTREAM_KEY: o.keyPath, UPSTREAM_CONTROL_DIR: o.controlDir },
    stdio: ['ignore', logFd, logFd, 'ipc'],
    execArgv: [],
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
