import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAULTS, ManualClock, startFakeHost, type FakeHost, type FaultName } from '../../src/fake-host/host.js';
import { connect, type TestSession } from './ssh-client.js';
import { BROKEN_TEMPLATE, FIXED_TEMPLATE, handshake, inProject, pause, writeTemplate } from './helpers.js';

// The defaults: on a manual clock a window costs no wall time, and a command lands exactly where the test puts it.
const CRASH_WINDOW = 1000;
const SLOW_START = 3000;
let clock: ManualClock;
let host: FakeHost;
let session: TestSession;

beforeEach(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
  host = await startFakeHost({ crashWindowMs: CRASH_WINDOW, slowStartMs: SLOW_START, clock });
  session = await connect(host);
});

// Swaps in a host with other options (the wall clock's test).
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

  it('reject-new-config: Up to the crash window\'s last ms, Restarting after it, [emerg] in logs, 502 throughout', async () => {
    host.faults.add('reject-new-config');
    const check = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(check.code).toBe(0); // the image still holds the old template
    const result = await applyFix();
    expect(result.up).toBe(0);
    expect(host.container()?.startedAt).toBe(clock.now());
    await clock.advance(CRASH_WINDOW - 1);
    const early = JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out);
    expect(early).toMatchObject({ State: 'running', Status: 'Up Less than a second' });
    expect((await fetch(`${host.publicUrl}/_stcore/health`)).status).toBe(502);
    const emerg = 'nginx: [emerg] "map" directive is not allowed here in /etc/nginx/nginx.conf:2';
    expect((await inProject(session, 'docker compose logs --no-color ocapistaine')).out).toContain(`ocapistaine-1  | ${emerg}\n`);

    await clock.advance(2);
    const late = JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out);
    // Compose reports ExitCode only for an exited container: 0 while restarting (the code shows in Status).
    expect(late).toMatchObject({ State: 'restarting', ExitCode: 0, Status: 'Restarting (1) Less than a second ago' });
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
    const lines = truncated.split('\n').length;
    const message = `unexpected end of file, expecting "}" in /etc/nginx/nginx.conf:${lines}\n`;
    // An attempt's error-log line carries its start time; nginx's stderr line follows 1 ms later.
    const attempts = async (): Promise<number> =>
      (await inProject(session, 'docker compose logs --no-color ocapistaine')).out.split(`[emerg] 1#1: ${message}`).length - 1;
    // Docker's back-off doubles from the window: the attempts start at 0, 2W, 4W, 8W.
    await clock.advance(CRASH_WINDOW * 2 - 1);
    expect(await attempts()).toBe(1);
    await clock.advance(1);
    expect(await attempts()).toBe(2);
    await clock.advance(CRASH_WINDOW * 6 - 1);
    expect(await attempts()).toBe(3);
    await clock.advance(1);
    expect(await attempts()).toBe(4);
    const logs = (await inProject(session, 'docker compose logs --no-color ocapistaine')).out;
    expect(logs.split(`nginx: [emerg] ${message}`).length - 1).toBe(3);
    // The clock started at 09:00:00, when `up` ran: the fourth attempt is stamped 8 windows later.
    expect(logs).toContain(`ocapistaine-1  | 2026/01/01 09:00:08 [emerg] 1#1: ${message}`);
    expect(host.container()?.state).toBe('restarting');
  });

  it('emerg-logs: the container runs but its logs carry an [emerg]', async () => {
    await applyFix();
    host.faults.add('emerg-logs');
    await clock.advance(20);
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
    await clock.advance(CRASH_WINDOW);
    expect(host.container()?.state).toBe('restarting');
    expect((await inProject(session, 'docker compose logs --tail 1 ocapistaine')).out).toContain('invalid number of arguments in "map" directive');
  });

  it('slow-start: up holds until slowStartMs have passed, the proxy answers 502 meanwhile', async () => {
    host.faults.add('slow-start');
    await writeTemplate(session, FIXED_TEMPLATE);
    await inProject(session, 'docker compose build ocapistaine');
    const started = clock.now();
    const up = inProject(session, 'docker compose up -d ocapistaine');
    await clock.untilSleeping();
    expect(host.container()?.state).toBe('exited');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(502);
    await clock.advance(SLOW_START - 1);
    expect(clock.pending).toBe(1);
    expect(host.container()?.state).toBe('exited');
    await clock.advance(1);
    expect((await up).code).toBe(0);
    expect(host.container()).toMatchObject({ state: 'running', startedAt: started + SLOW_START, recreations: 1 });
    expect((await handshake(host.publicUrl)).status).toBe(101);
  });

  it('slow-start: restart holds too, and the same container starts when the time has passed', async () => {
    host.faults.add('slow-start');
    const before = host.container();
    const restart = inProject(session, 'docker compose restart ocapistaine');
    await clock.untilSleeping();
    await clock.advance(SLOW_START - 1);
    expect(host.container()?.startedAt).toBe(before?.startedAt);
    await clock.advance(1);
    expect((await restart).err).toBe(' Container vaettir-ocapistaine-1  Restarting\n Container vaettir-ocapistaine-1  Started\n');
    expect(host.container()).toMatchObject({ name: before?.name, recreations: before?.recreations, startedAt: clock.now() });
  });

  it('crash-on-start: a changed config crash-loops though nginx -t passes; the original config runs again', async () => {
    host.faults.add('crash-on-start');
    await applyFix();
    const test = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(test.code).toBe(0);
    expect(host.container()?.state).toBe('running');
    await clock.advance(CRASH_WINDOW);
    expect(JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out).Status).toMatch(/^Restarting \(1\) /);
    expect((await inProject(session, 'docker compose logs --tail 2 ocapistaine')).out).toContain('nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address in use)\n');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(502);
    await writeTemplate(session, BROKEN_TEMPLATE);
    await inProject(session, 'docker compose build ocapistaine && docker compose up -d ocapistaine');
    await clock.advance(CRASH_WINDOW);
    expect(host.container()?.state).toBe('running');
    expect((await fetch(`${host.publicUrl}/`)).status).toBe(200);
  });

  it('crash-always: even the original config crash-loops once restarted', async () => {
    host.faults.add('crash-always');
    await inProject(session, 'docker compose restart ocapistaine');
    await clock.advance(CRASH_WINDOW);
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

// The default clock, which the demo, `fake-host` and users' CI run on: the same windows pass in real time.
describe('faults on the wall clock', () => {
  it('slow-start holds restart for slowStartMs, and a crash-looping start shows Restarting after the window', async () => {
    const window = 200;
    const slow = 400;
    await restartWith({ crashWindowMs: window, slowStartMs: slow, faults: ['slow-start', 'crash-always'] });
    const started = Date.now();
    const restart = await inProject(session, 'docker compose restart ocapistaine');
    expect(restart.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(slow);
    const startedAt = host.container()?.startedAt ?? 0;
    await pause(window + 50 - (Date.now() - startedAt));
    expect(host.container()?.state).toBe('restarting');
    expect(JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out).Status).toMatch(/^Restarting \(1\) /);
  });
});
