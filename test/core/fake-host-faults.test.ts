// Each fault: exit 1, the template byte-identical to the original, the container running the original config.
import { readFile, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, startFakeHost, type FakeHost, type FaultName } from '../../src/fake-host/host.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150, slowStartMs: 1200 });
});
afterEach(async () => {
  await host.close();
});

// fault, the step named, the error, and the likely cause the diagnosis gives (null: nothing to add).
const cases: [FaultName, string, RegExp, RegExp | null][] = [
  ['build-fails', 'build', /docker compose build ocapistaine failed/, null],
  ['up-fails', 'deploy', /docker compose up -d ocapistaine failed/, null],
  ['crash-on-start', 'running', /not running: Restarting/, /nginx cannot bind its port: something else holds it/],
  ['emerg-logs', 'logs', /\[emerg\]/, /nginx reports errors/],
  ['upstream-down', 'endpoint', /handshake 502/, /the upstream \(the tunnel\) is down/],
  ['forbidden', 'endpoint', /handshake 403/, /refuses every request/],
  ['no-handshake', 'endpoint', /did not get 101/, /strips them/],
  ['health-fails', 'endpoint', /\/_stcore\/health answered 503/, /not healthy/],
];

describe('a failed check rolls the run back by itself', () => {
  it.each(cases)('%s → exit 1, step %s named, host as before', async (fault, step, message, cause) => {
    const renderedBefore = host.container()?.renderedConfig;
    host.faults.add(fault);
    const { report } = await runAgainst(host);
    expect(report.error).toMatchObject({ step, message: expect.stringMatching(message) });
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1 });
    expect(report.rollback?.restored).toBe(true);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(host.container()).toMatchObject({ state: 'running', renderedConfig: renderedBefore });
    expect(report.steps.find((s) => s.id === 'write-template')?.status).toBe('rolled-back');
    expect(report.steps.find((s) => s.id === 'backup')?.status).toBe('done');
    expect(report.steps.find((s) => s.id === step)?.status).toBe('failed');
    if (cause === null) expect(report.diagnosis).toBeNull();
    else expect(report.diagnosis?.cause).toMatch(cause);
  });

  it('a config nginx rejects never goes live: nginx -t in a throwaway container stops the run before up', async () => {
    const before = host.container();
    host.faults.add('reject-new-config');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'validate', message: expect.stringMatching(/"map" directive is not allowed here/) } });
    expect(report.steps.find((s) => s.id === 'deploy')?.status).toBe('not-run');
    expect(report.diagnosis?.evidence[0]).toMatch(/"map" directive is not allowed here in \/etc\/nginx\/nginx.conf:2\n\s+template line 2: map \$http_upgrade \$connection_upgrade \{/);
    expect(host.container()).toMatchObject({ recreations: before?.recreations, startedAt: before?.startedAt, renderedConfig: before?.renderedConfig });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });

  it('blanked variables are caught by nginx -t too, before anything goes live', async () => {
    host.faults.add('blank-vars');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ exitCode: 1, error: { step: 'validate' } });
  });

  it('a fault that breaks every start leaves the host not restored: exit 2 and the commands to recover', async () => {
    // The container crash-loops at start whatever its config (nginx -t passes: it does not bind): nothing can run.
    host.faults.add('crash-always');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'failed-not-restored', exitCode: 2, error: { step: 'running' } });
    expect(report.rollback?.restored).toBe(false);
    expect(report.rollback?.actions.find((a) => a.id === 'restore-template')?.status).toBe('done');
    expect(report.rollback?.actions.find((a) => a.id === 'recreate-container')?.status).toBe('failed');
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(report.recovery).toEqual([
      `ssh -p ${host.port} jnxmas@127.0.0.1`,
      `cp -p -- "$HOME"/vaettir/proxy-configs/ocapistaine.conf.template.backup "$HOME"/vaettir/proxy-configs/ocapistaine.conf.template   # ocapistaine.conf.template.backup holds the config from before this run`,
      'cd -- "$HOME"/vaettir && docker compose build ocapistaine',
      'cd -- "$HOME"/vaettir && docker compose --profile production --profile proxy up -d --force-recreate ocapistaine',
      'cd -- "$HOME"/vaettir && docker compose ps -a ocapistaine',
    ]);
  });

  it('slow start is waited for, within the bound', async () => {
    host.faults.add('slow-start');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
  });

  it('a crash loop that shows Up at first is caught by the settle wait', async () => {
    // On the wall clock a busy machine could let the crash window pass before the first ps, which then never saw Up.
    // The host's clock moves only here: the settle wait's first sample (taken on the host) sees Up, and the window
    // ends as that sample reaches the client, half a second before the host takes the next one.
    const clock = new ManualClock();
    await host.close();
    host = await startFakeHost({ crashWindowMs: 150, clock, faults: ['crash-on-start'] });
    const samples: string[] = [];
    const output = new PassThrough();
    let pending = '';
    output.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const state = /^\[\d+\] {3}\{.*"State":"(\w+)"/.exec(line)?.[1];
        if (state === undefined || !host.stats.commands.some((c) => c.includes(' up -d '))) continue;
        samples.push(state);
        if (samples.length === 1) void clock.advance(150);
      }
    });
    const { report } = await runAgainst(host, { settleMs: 600, verbose: true }, { output: output as unknown as NodeJS.WriteStream });
    expect(report.steps.find((s) => s.id === 'running')).toMatchObject({ status: 'failed' });
    expect(report.error).toMatchObject({ step: 'running', message: expect.stringMatching(/not running: Restarting \(1\) Less than a second ago/) });
    expect(samples.slice(0, 2)).toEqual(['running', 'restarting']);
  });

  it('a failed check on a host already fixed changes nothing: exit 1, no rollback', async () => {
    await runAgainst(host);
    host.faults.add('upstream-down');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'failed-nothing-changed', exitCode: 1, rollback: null, error: { step: 'endpoint' } });
    expect(await readFile(host.templatePath)).toEqual(DESIRED);
  });
});

describe('interruptions and races', () => {
  it('Ctrl-C during the build stops at the next safe point, rolls back and exits 130', async () => {
    host.faults.add('slow-start');
    const interrupt = { signal: null as 'SIGINT' | 'SIGTERM' | null };
    // Ctrl-C as soon as the build has been sent to the host.
    const timer = setInterval(() => {
      if (host.stats.commands.some((c) => c.includes('compose build'))) interrupt.signal = 'SIGINT';
    }, 5);
    const { report } = await runAgainst(host, {}, { interrupt });
    clearInterval(timer);
    expect(report.steps.find((s) => s.id === 'deploy')?.status).toBe('not-run');
    expect(report.exitCode).toBe(130);
    expect(report.rollback?.restored).toBe(true);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(host.container()?.state).toBe('running');
  });

  it('a template changed between the plan and the apply is noticed, and nothing is lost', async () => {
    const theirs = Buffer.from('# edited on the host while the operator read the plan\n');
    const { report } = await runAgainst(host, { yes: false }, {
      confirm: async () => {
        await writeFile(host.templatePath, theirs);
        return true;
      },
    });
    expect(report).toMatchObject({ exitCode: 1, outcome: 'failed-nothing-changed', error: { step: 'backup', message: expect.stringMatching(/changed on the host/) } });
    expect(await readFile(host.templatePath)).toEqual(theirs);
  });

  it('a declined prompt changes nothing', async () => {
    const { report } = await runAgainst(host, { yes: false }, { confirm: async () => false });
    expect(report).toMatchObject({ exitCode: 1, outcome: 'declined' });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });
});

describe('secrets', () => {
  it('the container env secret never reaches the output, even with --verbose', async () => {
    const secret = (await readFile(`${host.projectDir}/.env`, 'utf8')).match(/OCAPISTAINE_API_TOKEN=(.*)/)?.[1];
    expect(secret).toBeTruthy();
    host.faults.add('emerg-logs');
    const { report, output } = await runAgainst(host, { verbose: true }, { renderer: 'simple' });
    expect(output).toMatch(/\$ \[\d+\] cd --/);
    expect(output).not.toContain(secret);
    expect(JSON.stringify(report)).not.toContain(secret);
    expect(output).toContain('OCAPISTAINE_TARGET_URL');
  });
});

describe('what browsers see', () => {
  it('a fix browsers cannot use (the app refuses their Origin) is not reported as working: exit 1 and the Streamlit settings to change', async () => {
    host.faults.add('origin-check');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ exitCode: 1, error: { step: 'endpoint', message: expect.stringMatching(/browser's WebSocket handshake .* did not get 101/) } });
    expect(report.diagnosis?.cause).toMatch(/refuses the browser's Origin/);
    expect(report.diagnosis?.remedy).toMatch(/server\.enableXsrfProtection/);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });
});

describe('diagnoses that name the real cause', () => {
  let host: FakeHost;
  beforeEach(async () => {
    host = await startFakeHost({ crashWindowMs: 150 });
  });
  afterEach(async () => {
    await host.close();
  });

  it('blanked variables: the entrypoint\'s envsubst without a list, not "fix the template lines"', async () => {
    host.faults.add('blank-vars');
    const { report } = await runAgainst(host);
    expect(report.diagnosis?.cause).toMatch(/entrypoint blanked every \$variable/);
    expect(report.diagnosis?.remedy).not.toMatch(/Fix the template lines/);
  });

  it('a dead upstream: the evidence keeps curl\'s whole error, not its last three characters', async () => {
    await runAgainst(host);
    host.faults.add('upstream-down');
    const { report } = await runAgainst(host);
    expect(report.diagnosis?.evidence.find((e) => e.startsWith('from the host'))).toMatch(/: no answer \(curl: \(\d+\) .{10,}\)$/);
  });

  it('a port nobody can bind: the original config cannot start either, and the diagnosis says so', async () => {
    host.faults.add('crash-always');
    const { report } = await runAgainst(host);
    expect(report.diagnosis?.cause).toMatch(/^the original config cannot start either: .*cannot bind its port.*the new config is not the cause/);
  });
});
