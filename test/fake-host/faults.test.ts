import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAULTS, startFakeHost, type FakeHost, type FaultName } from '../../src/fake-host/host.js';
import { connect, type TestSession } from './ssh-client.js';
import { BROKEN_TEMPLATE, FIXED_TEMPLATE, handshake, inProject, pause, writeTemplate } from './helpers.js';

const CRASH_WINDOW = 250;
const SLOW_START = 800;
let host: FakeHost;
let session: TestSession;

beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: CRASH_WINDOW, slowStartMs: SLOW_START });
  session = await connect(host);
});

// Swaps in a host with other timings, for a test that must look inside a window reliably.
async function restartWith(options: Parameters<typeof startFakeHost>[0]): Promise<void> {
  session.end();
  await host.close();
  host = await startFakeHost(options);
  session = await connect(host);
}

afterEach(async () => {
  session?.end();
  await host?.close();
});

// The runbook's steps 3 and 4 over SSH.
async function applyFix(): Promise<{ build: number | null; up: number | null; upErr: string }> {
  await writeTemplate(session, FIXED_TEMPLATE);
  const build = await inProject(session, 'docker compose build ocapistaine');
  const up = await inProject(session, 'docker compose --profile production --profile proxy up -d ocapistaine');
  return { build: build.code, up: up.code, upErr: up.err };
}

describe('faults', () => {
  it('describes every fault in one line', () => {
    expect(Object.keys(FAULTS)).toHaveLength(13);
    for (const text of Object.values(FAULTS)) expect(text).not.toContain('\n');
  });

  it('build-fails: exit 17, image unchanged, so up leaves the old container Running', async () => {
    const before = host.container();
    host.faults.add('build-fails');
    const result = await applyFix();
    expect(result.build).toBe(17);
    expect(result.upErr).toBe(' Container vaettir-ocapistaine-1  Running\n');
    expect(host.container()?.imageId).toBe(before?.imageId);
  });

  it('up-fails: a daemon error, and the old container keeps running untouched', async () => {
    const before = host.container();
    host.faults.add('up-fails');
    const result = await applyFix();
    expect(result.build).toBe(0);
    expect(result.up).toBe(1);
    expect(result.upErr).toMatch(/^ Container vaettir-ocapistaine-1 {2}Recreate\nError response from daemon: /);
    expect(host.container()).toEqual(before);
    host.faults.delete('up-fails');
    expect((await inProject(session, 'docker compose up -d ocapistaine')).code).toBe(0);
    expect(host.container()?.recreations).toBe(1);
  });

  it('reject-new-config: Up first, Restarting after the crash window, [emerg] in logs, 502 throughout', async () => {
    const window = 1000;
    await restartWith({ crashWindowMs: window, faults: ['reject-new-config'] });
    const check = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(check.code).toBe(0); // the image still holds the old template
    const result = await applyFix();
    const upAt = Date.now();
    expect(result.up).toBe(0);
    const early = JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out);
    expect(Date.now() - upAt).toBeLessThan(window);
    expect(early).toMatchObject({ State: 'running', Status: 'Up Less than a second' });
    expect((await fetch(`${host.publicUrl}/_stcore/health`)).status).toBe(502);
    const emerg = 'nginx: [emerg] "map" directive is not allowed here in /etc/nginx/nginx.conf:2';
    expect((await inProject(session, 'docker compose logs --no-color ocapistaine')).out).toContain(`ocapistaine-1  | ${emerg}\n`);

    await pause(window + 50 - (Date.now() - upAt));
    const late = JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out);
    // Compose reports ExitCode only for an exited container: 0 while restarting (the code shows in Status).
    expect(late).toMatchObject({ State: 'restarting', ExitCode: 0 });
    expect(late.Status).toMatch(/^Restarting \(1\) (Less than a second|\d+ seconds?) ago$/);
    expect(host.container()?.state).toBe('restarting');
    expect((await fetch(`${host.publicUrl}/_stcore/health`)).status).toBe(502);
    const exec = await inProject(session, 'docker compose exec -T ocapistaine cat /etc/nginx/nginx.conf');
    expect(exec).toMatchObject({ code: 1, err: 'service "ocapistaine" is not running\n' });
    const direct = await session.exec('docker exec vaettir-ocapistaine-1 true');
    expect(direct.err).toMatch(/^Error response from daemon: Container [0-9a-f]{64} is restarting/);
    const test = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(test).toMatchObject({ code: 1, err: `${emerg}\nnginx: configuration file /etc/nginx/nginx.conf test failed\n` });
  });

  it('a config with unbalanced braces crash-loops with nginx\'s end-of-file error', async () => {
    const truncated = FIXED_TEMPLATE.toString('utf8').replace(/}\n$/, '');
    await writeTemplate(session, truncated);
    await inProject(session, 'docker compose build ocapistaine');
    await inProject(session, 'docker compose up -d ocapistaine');
    await pause(CRASH_WINDOW * 3);
    const lines = truncated.split('\n').length;
    const emerg = `nginx: [emerg] unexpected end of file, expecting "}" in /etc/nginx/nginx.conf:${lines}\n`;
    const logs = (await inProject(session, 'docker compose logs --no-color ocapistaine')).out;
    expect(logs.split(emerg).length - 1).toBeGreaterThanOrEqual(2);
    expect(logs).toMatch(/\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[emerg\] 1#1: unexpected end of file/);
    expect(host.container()?.state).toBe('restarting');
  });

  it('emerg-logs: the container runs but its logs carry an [emerg]', async () => {
    await applyFix();
    host.faults.add('emerg-logs');
    await pause(20);
    const logs = (await inProject(session, 'docker compose logs --no-color --tail 50 ocapistaine')).out;
    expect(logs).toMatch(/\[emerg\]/);
    expect(host.container()?.state).toBe('running');
    expect((await handshake(host.publicUrl)).status).toBe(101);
  });

  it('blank-vars: every $var is blanked, the map disappears and nginx refuses the result', async () => {
    host.faults.add('blank-vars');
    await applyFix();
    const rendered = host.container()?.renderedConfig ?? '';
    expect(rendered).not.toContain('map $http_upgrade');
    expect(rendered).toContain('proxy_set_header Upgrade ;');
    expect(rendered).toContain('proxy_pass https://ocapistaine.ngrok-free.app;');
    await pause(CRASH_WINDOW + 50);
    expect(host.container()?.state).toBe('restarting');
    expect((await inProject(session, 'docker compose logs --tail 1 ocapistaine')).out).toContain('invalid number of arguments in "map" directive');
  });

  it('slow-start: up takes slowStartMs, the proxy answers 502 meanwhile', async () => {
    host.faults.add('slow-start');
    await writeTemplate(session, FIXED_TEMPLATE);
    await inProject(session, 'docker compose build ocapistaine');
    const started = Date.now();
    const up = inProject(session, 'docker compose up -d ocapistaine');
    for (let i = 0; i < 30 && host.container()?.state !== 'exited'; i++) await pause(10);
    expect(host.container()?.state).toBe('exited');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(502);
    expect((await up).code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_START);
    expect((await handshake(host.publicUrl)).status).toBe(101);
  });

  it('crash-on-start: a changed config crash-loops though nginx -t passes; the original config runs again', async () => {
    host.faults.add('crash-on-start');
    await applyFix();
    const test = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(test.code).toBe(0);
    expect(host.container()?.state).toBe('running');
    await pause(CRASH_WINDOW + 50);
    expect(JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out).Status).toMatch(/^Restarting \(1\) /);
    expect((await inProject(session, 'docker compose logs --tail 2 ocapistaine')).out).toContain('nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address in use)\n');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(502);
    await writeTemplate(session, BROKEN_TEMPLATE);
    await inProject(session, 'docker compose build ocapistaine && docker compose up -d ocapistaine');
    await pause(CRASH_WINDOW + 50);
    expect(host.container()?.state).toBe('running');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(200);
  });

  it('crash-always: even the original config crash-loops once restarted', async () => {
    host.faults.add('crash-always');
    await inProject(session, 'docker compose restart ocapistaine');
    await pause(CRASH_WINDOW + 50);
    expect(host.container()?.state).toBe('restarting');
    expect((await inProject(session, 'docker compose exec -T ocapistaine nginx -t')).code).toBe(1);
    expect((await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t')).code).toBe(0);
  });

  const endpointFaults: Array<[FaultName, string, number]> = [
    ['upstream-down', '/_stcore/health', 502],
    ['forbidden', '/', 403],
    ['health-fails', '/_stcore/health', 503],
  ];
  for (const [fault, path, status] of endpointFaults) {
    it(`${fault}: ${path} answers ${status}`, async () => {
      expect((await fetch(`${host.publicUrl}${path}`)).status).toBe(200);
      host.faults.add(fault);
      expect((await fetch(`${host.publicUrl}${path}`)).status).toBe(status);
    });
  }

  it('upstream-down and forbidden refuse the handshake too; no-handshake refuses only it', async () => {
    await applyFix();
    expect((await handshake(host.publicUrl)).status).toBe(101);
    host.faults.add('no-handshake');
    expect((await handshake(host.publicUrl)).status).toBe(426);
    expect((await fetch(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
    expect((await fetch(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
    host.faults.clear();
    host.faults.add('upstream-down');
    expect((await handshake(host.publicUrl)).status).toBe(502);
    host.faults.clear();
    host.faults.add('forbidden');
    expect((await handshake(host.publicUrl)).status).toBe(403);
  });
});
