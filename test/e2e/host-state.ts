// What the e2e tests read back from the real host after a CLI run: files, the container, the endpoint.
// Independent of the CLI's own probes: the harness's ws client and docker without SSH.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { wsHandshake, type HandshakeResult } from './harness/probes.js';
import { FIXED_TEMPLATE_PATH, TEMPLATE_REL, type ContainerState, type RealHost } from './harness/real-host.js';
import { waitFor } from './harness/system.js';

export const BACKUP_REL = `${TEMPLATE_REL}.backup`;
// The seed's config, as the runbook ships it: what the template must hold after an apply, byte for byte.
export const SEED_CONFIG = readFileSync(FIXED_TEMPLATE_PATH, 'utf8');

export function template(host: RealHost): string {
  return host.readFile(TEMPLATE_REL);
}

export function backup(host: RealHost): string | undefined {
  try {
    return host.readFile(BACKUP_REL);
  } catch {
    return undefined;
  }
}

// The names in proxy-configs/ (backups, leftover temp files).
export async function configDirListing(host: RealHost): Promise<string[]> {
  const r = await host.runAsUser('ls', ['-A', `${host.projectDir}/proxy-configs`]);
  return r.stdout.split('\n').filter(Boolean).sort();
}

// What the entrypoint renders from a template: only ${OCAPISTAINE_TARGET_URL} substituted.
export function rendered(host: RealHost, tpl: string): string {
  return tpl.replaceAll('${OCAPISTAINE_TARGET_URL}', host.upstreamUrl);
}

// The config nginx in the container was started with (docker exec, as the seed's step 6 reads it).
export async function liveConfig(host: RealHost): Promise<string> {
  const r = await host.docker(['exec', 'vaettir-ocapistaine-1', 'cat', '/etc/nginx/nginx.conf']);
  expect(r.code, `docker exec cat: ${r.stderr}`).toBe(0);
  return r.stdout;
}

export function wsUrl(host: RealHost): string {
  return `${host.publicUrl.replace(/^http/, 'ws')}/_stcore/stream`;
}

export function handshake(host: RealHost, timeoutMs = 5000): Promise<HandshakeResult> {
  return wsHandshake(wsUrl(host), { timeoutMs });
}

// The container runs, and has run for a moment (a crash loop shows running first).
export async function runningContainer(host: RealHost): Promise<ContainerState> {
  return host.waitForContainer((s) => s.status === 'running' && s.nginxPid > 0, 15_000);
}

// The host as it was before the fix: the original template, the container running the original
// config, and a WebSocket handshake through nginx that does not get 101 (426: the app's plain answer).
export async function expectBrokenHost(host: RealHost, o: { handshake?: number } = {}): Promise<void> {
  expect(template(host), 'the template is byte-identical to the original').toBe(host.originalTemplate);
  const c = await runningContainer(host);
  expect(c.status).toBe('running');
  expect(await liveConfig(host), 'the container runs the original config').toBe(rendered(host, host.originalTemplate));
  const hs = await handshake(host);
  expect(hs.status, 'the handshake through nginx').toBe(o.handshake ?? 426);
}

// The fixed host: the seed's config in the template and in the container, and 101 through real nginx.
export async function expectFixedHost(host: RealHost): Promise<HandshakeResult> {
  expect(template(host), 'the template is the seed config byte for byte').toBe(SEED_CONFIG);
  await runningContainer(host);
  expect(await liveConfig(host)).toBe(rendered(host, SEED_CONFIG));
  const hs = await waitFor('a 101 handshake through nginx', async () => {
    const r = await handshake(host, 3000);
    return r.status === 101 ? r : undefined;
  }, 5000);
  expect(hs.echoed).toBe('ping from e2e');
  return hs;
}

// What the engine changed since `since` (ms): containers created, started, killed, removed, images built or
// tagged, as `type action name`. Reads leave no event, except exec (`docker compose exec`), which changes nothing.
export function changingDockerCalls(host: RealHost, since: number): string[] {
  return host
    .dockerEvents(since)
    .filter((e) => !e.action.startsWith('exec_'))
    .map((e) => `${e.type} ${e.action} ${e.name}`);
}

// Every engine event since `since` (ms), exec included.
export function dockerEvents(host: RealHost, since: number): string[] {
  return host.dockerEvents(since).map((e) => `${e.type} ${e.action} ${e.name}`);
}
