import type { NginxCheck } from '../nginx/validate.js';
import { humanDuration } from './docker-time.js';

export interface Image {
  id: string; // "sha256:<64 hex>"
  ref: string; // "vaettir-ocapistaine" or "nginx:1.27-alpine"
  createdAt: number;
  template?: Buffer; // the conf template COPY'd in at build time
  entrypoint?: Buffer;
}

export interface LogEntry {
  at: number;
  text: string;
}

export interface Container {
  id: string; // 64 hex
  name: string;
  project: string;
  projectDir: string;
  service: string;
  entryPath: string; // "/entrypoint.sh" for the built proxy, "/docker-entrypoint.sh" for stock nginx
  image: Image;
  configHash: string;
  env: Array<[string, string]>; // compose environment, interpolated
  createdAt: number;
  startedAt: number;
  stoppedAt?: number;
  exitCode: number;
  recreations: number;
  renderedBytes: Buffer; // /etc/nginx/nginx.conf
  check: NginxCheck;
  crash?: string; // what nginx dies with at every start (a rejected config or a run-time failure)
  logs: LogEntry[];
}

export type ContainerState = 'running' | 'restarting' | 'exited';

export interface ContainerStatus {
  state: ContainerState;
  status: string; // ps STATUS
  exitCode: number;
  attempts: number[]; // start times of the crash loop's attempts (one entry when not crashing)
}

const MAX_ATTEMPTS = 50;
const MAX_BACKOFF_MS = 60_000;

// Where a container is at time `now`: a bad config shows Up for the crash window, then Restarting with
// Docker's doubling back-off, each attempt adding its [emerg] lines to the logs.
export function statusAt(c: Container, now: number, crashWindowMs: number): ContainerStatus {
  if (c.stoppedAt !== undefined) {
    return {
      state: 'exited',
      status: `Exited (${c.exitCode}) ${humanDuration(now - c.stoppedAt)} ago`,
      exitCode: c.exitCode,
      attempts: [c.startedAt],
    };
  }
  if (c.crash === undefined) {
    return { state: 'running', status: `Up ${humanDuration(now - c.startedAt)}`, exitCode: 0, attempts: [c.startedAt] };
  }
  const elapsed = now - c.startedAt;
  if (elapsed < crashWindowMs) {
    return { state: 'running', status: `Up ${humanDuration(elapsed)}`, exitCode: 0, attempts: [c.startedAt] };
  }
  const attempts = [c.startedAt];
  let lastFailure = c.startedAt + crashWindowMs;
  let backoff = Math.max(crashWindowMs, 100);
  while (attempts.length < MAX_ATTEMPTS && lastFailure + backoff <= now) {
    lastFailure += backoff;
    attempts.push(lastFailure);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
  return { state: 'restarting', status: `Restarting (1) ${humanDuration(now - lastFailure)} ago`, exitCode: 1, attempts };
}

// The rendered config as text, for views and `cat` (bytes are kept separately for byte-exact output).
export function renderedText(c: Container): string {
  return c.renderedBytes.toString('utf8');
}

// The entrypoint + CMD as `ps` quotes it.
export const CONTAINER_PATH = '/entrypoint.sh';
export const CONTAINER_ARGS = ['nginx', '-g', 'daemon off;'];

// ps's COMMAND cell: quoted and cut to 20 characters with an ellipsis, like docker's table.
export function commandCell(full: boolean, path = CONTAINER_PATH, args = CONTAINER_ARGS): string {
  const command = [path, ...args.map((a) => (/\s/.test(a) ? `'${a}'` : a))].join(' ');
  if (full) return `"${command}"`;
  return `"${[...command].length > 20 ? `${[...command].slice(0, 19).join('')}…` : command}"`;
}
