// The settle wait's host-side loop, run by a local /bin/sh against a stand-in `docker` that answers `ps` from a
// script of states: it stops when the container has run for the settle time (timed with /proc/uptime, or by counting
// samples where that cannot be read), at the first failed state, or after its last sample.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPollCommand, pollSamples } from '../../src/kinds/compose.js';
import { RemotePath } from '../../src/shell/quote.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'awf-host-poll-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// `docker compose ps …` prints the next state of `states` (the last one repeats), counting its calls in a file.
function run(states: string[], settleMs: number, need: number, max: number, noUptime = false): { states: string[]; code: number | null } {
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(dir, 'states'), states.join('\n') + '\n');
  rmSync(join(dir, 'count'), { force: true });
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\nn=$(cat "${dir}/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${dir}/count"\ns=$(sed -n "\${n}p" "${dir}/states"); [ -n "$s" ] || s=$(tail -n 1 "${dir}/states")\nprintf '{"Name":"p-1","Service":"svc","State":"%s","Status":"%s"}\\n' "$s" "$s"\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  let command = hostPollCommand({ dir: new RemotePath(dir), service: 'svc', profiles: [] }, settleMs, need, max);
  if (noUptime) command = command.replace('/proc/uptime', `${dir}/no-uptime`);
  const r = spawnSync('/bin/sh', ['-c', command], { env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` }, encoding: 'utf8', timeout: 30_000 });
  return { states: pollSamples(r.stdout).samples.map((s) => (JSON.parse(s.stdout.toString()) as { State: string }).State), code: r.status };
}

describe('the host-side settle poll', () => {
  it('with /proc/uptime: samples until the container has run for the settle time, the last pause cut short', () => {
    const started = Date.now();
    const { states, code } = run(['running'], 700, 30, 40);
    expect(code).toBe(0);
    // It waited the settle time, not 30 samples: 0, 0.5 s, then what remains of 0.75 s (fewer when ps is slow).
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(states.length).toBeGreaterThanOrEqual(2);
    expect(states.length).toBeLessThanOrEqual(4);
  });

  it('without /proc/uptime: stops after `need` running samples in a row', () => {
    expect(run(['running'], 700, 3, 10, true).states).toEqual(['running', 'running', 'running']);
    expect(run(['created', 'running', 'created', 'running'], 700, 2, 10, true).states).toEqual(['created', 'running', 'created', 'running', 'running']);
  });

  it('stops at the first failed state, and after its last sample', () => {
    expect(run(['running', 'restarting'], 5000, 11, 20).states).toEqual(['running', 'restarting']);
    expect(run(['created'], 5000, 11, 3).states).toEqual(['created', 'created', 'created']);
  });
});
