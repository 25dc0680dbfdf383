// The README's "Write a runbook" example, taken from the README as written, runs against the fake host:
// apply, re-run (nothing to change), and --rollback from the journal alone.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbook } from '../../src/cli/registry.js';
import type { Runbook } from '../../src/core/types.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
let runbook: Runbook;

beforeAll(async () => {
  const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Write a runbook'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error('the README\'s "Write a runbook" has no js example');
  const dir = await mkdtemp(join(tmpdir(), 'awf-readme-'));
  // The example imports the package by name; here it is this checkout's public API.
  await writeFile(join(dir, 'motd.mjs'), code.replace("from 'apply-ws-fix'", `from ${JSON.stringify(join(packageRoot(), 'src', 'index.ts'))}`));
  runbook = await loadRunbook(join(dir, 'motd.mjs'), dir);
  host = await startFakeHost();
  await writeFile(join(host.home, 'motd.txt'), 'welcome\n');
});
afterAll(async () => {
  await host?.close();
});

describe("the README's example runbook", () => {
  it('applies, changes nothing the second time, and rolls back from the journal', async () => {
    const params = { dir: '~', line: 'maintenance at 22:00', url: new URL('/_stcore/health', host.publicUrl).toString() };
    const first = await runAgainst(host, { params }, {}, runbook);
    expect(first.report).toMatchObject({ runbook: 'motd', outcome: 'applied', exitCode: 0 });
    expect(await readFile(join(host.home, 'motd.txt'), 'utf8')).toBe('maintenance at 22:00\n');
    const second = await runAgainst(host, { params }, {}, runbook);
    expect(second.report).toMatchObject({ outcome: 'already-applied', exitCode: 0 });
    const back = await runAgainst(host, { params, action: 'rollback' }, {}, runbook);
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(await readFile(join(host.home, 'motd.txt'), 'utf8')).toBe('welcome\n');
  });
});
