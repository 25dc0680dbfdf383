// A project directory with a 288-character path: the lock's state directory name is bounded (a path component may
// hold at most 255 bytes), so the whole apply takes the lock, changes the host and releases the lock.
import { mkdir, readdir, readFile, rename, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { DESIRED } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

describe('a 288-character --dir', () => {
  it('applies, and the state directory name stays short', async () => {
    // The project moves to a path of exactly 288 characters whose last component is long; the old place links to it.
    const parent = dirname(host.projectDir);
    const last = 'p'.repeat(200);
    const long = join(parent, 'q'.repeat(288 - parent.length - last.length - 2), last);
    expect(long).toHaveLength(288);
    await mkdir(dirname(long), { recursive: true });
    await rename(host.projectDir, long);
    await symlink(long, host.projectDir);
    const { report } = await runAgainst(host, { dir: long });
    expect(report.error).toBeNull();
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(await readFile(join(long, 'proxy-configs', 'ocapistaine.conf.template'))).toEqual(DESIRED);
    const states = await readdir(join(host.home, '.apply-ws-fix'));
    expect(states).toHaveLength(1);
    expect(states[0]!.length).toBeLessThanOrEqual(60);
    // The lock was released; the journal is there.
    expect((await readdir(join(host.home, '.apply-ws-fix', states[0]!))).sort()).not.toContain('lock');
  });
});
