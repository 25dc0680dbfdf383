// nginx's error levels in container logs: what the logs check treats as failure.

const NGINX_ERROR = /\[(emerg|alert|crit|error)\]/;

/** Log lines that carry an nginx error level the runbook treats as failure. */
export function findNginxErrors(logs: string): string[] {
  return logs.split('\n').filter((line) => NGINX_ERROR.test(line));
}
