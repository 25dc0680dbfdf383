import { accessLogTime, nginxLogTime } from '../compose/docker-time.js';
import type { LogEntry } from '../compose/container.js';

// What the nginx image prints when its config is good: the entrypoint's lines, then nginx's notices.
export function startupLines(at: number, pid: number): LogEntry[] {
  const t = nginxLogTime(at);
  const lines = [
    '/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration',
    '/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh',
    '/docker-entrypoint.sh: Configuration complete; ready for start up',
    `${t} [notice] 1#1: using the "epoll" event method`,
    `${t} [notice] 1#1: nginx/1.27.2`,
    `${t} [notice] 1#1: built by gcc 13.2.1 20240309 (Alpine 13.2.1_git20240309)`,
    `${t} [notice] 1#1: OS: Linux 6.8.0-45-generic`,
    `${t} [notice] 1#1: getrlimit(RLIMIT_NOFILE): 1048576:1048576`,
    `${t} [notice] 1#1: start worker processes`,
    `${t} [notice] 1#1: start worker process ${pid}`,
    `${t} [notice] 1#1: start worker process ${pid + 1}`,
  ];
  // A millisecond apart, in order, the last one at the start itself: a request served right after the start is logged
  // after them (they used to reach 11 ms past the start, so a request in those 11 ms sorted before them).
  return lines.map((text, i) => ({ at: at - (lines.length - 1 - i), text }));
}

// One failed start: nginx writes the [emerg] to its error log and to stderr, then exits 1.
export function emergLines(at: number, message: string): LogEntry[] {
  return [
    { at, text: `${nginxLogTime(at)} [emerg] 1#1: ${message}` },
    { at: at + 1, text: `nginx: [emerg] ${message}` },
  ];
}

// fault emerg-logs: an [emerg] from a worker while the master keeps running.
export function workerEmergLine(at: number, pid: number): LogEntry {
  return { at, text: `${nginxLogTime(at)} [emerg] ${pid}#${pid}: io_uring_setup() failed (1: Operation not permitted)` };
}

// An access-log line in nginx's combined format.
export function accessLine(at: number, method: string, path: string, status: number, userAgent: string): LogEntry {
  return {
    at,
    text: `172.18.0.1 - - [${accessLogTime(at)}] "${method} ${path} HTTP/1.1" ${status} 0 "-" "${userAgent}" "-"`,
  };
}
