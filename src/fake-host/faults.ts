// The faults a fake host can inject: each one breaks exactly one thing the runbook relies on.

export type FaultName =
  | 'build-fails'
  | 'up-fails'
  | 'reject-new-config'
  | 'emerg-logs'
  | 'blank-vars'
  | 'upstream-down'
  | 'forbidden'
  | 'no-handshake'
  | 'health-fails'
  | 'slow-start'
  | 'origin-check'
  | 'crash-on-start'
  | 'crash-always';

export const FAULTS: Readonly<Record<FaultName, string>> = Object.freeze({
  'build-fails': '`docker compose build` fails (exit 17); the image stays as it was',
  'up-fails': '`docker compose up` fails with a daemon error; the old container keeps running untouched',
  'reject-new-config': 'nginx rejects any config with `map $http_upgrade` ("map" directive is not allowed here): crash loop',
  'emerg-logs': 'the container runs, but its logs carry an nginx [emerg] line',
  'blank-vars': 'the entrypoint runs envsubst without a variable list: every $var is blanked, the map disappears',
  'upstream-down': 'the upstream (ngrok) is gone: the public URL answers 502 to everything',
  'forbidden': 'something in front of the proxy refuses everything with 403',
  'no-handshake': 'WebSocket handshakes never get 101, while plain requests look right',
  'health-fails': '/_stcore/health answers 503',
  'origin-check': 'the app refuses a WebSocket whose Origin differs from the Host the proxy sends (Streamlit\'s XSRF/CORS check): browsers get 403',
  'slow-start': '`docker compose up` and `restart` take slowStartMs (default 3000) to start the container',
  'crash-on-start': 'a container whose config differs from the original crash-loops at start (nginx -t still passes)',
  'crash-always': 'every container start crash-loops, whatever its config (nginx -t still passes)',
});

// Lets the CLI validate --fault values without knowing the list.
export function isFaultName(value: string): value is FaultName {
  return Object.hasOwn(FAULTS, value);
}
