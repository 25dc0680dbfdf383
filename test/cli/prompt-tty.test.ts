// The apply's y/N question on a real terminal: Ctrl-C there declines (exit 1, nothing changed) instead of hanging.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { BROKEN } from '../helpers/context.js';
import { hasScript, underTerminal } from '../helpers/terminal.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

describe.skipIf(!hasScript || !existsSync(CLI))('the confirmation prompt on a real terminal', () => {
  let host: FakeHost;
  beforeAll(async () => {
    host = await startFakeHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  it('Ctrl-C at the prompt declines: exit 1, the template untouched', async () => {
    const argv = [process.execPath, CLI, '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--url', host.publicUrl];
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: host.home, TERM: 'dumb', LANG: 'C.UTF-8' };
    const { code, output } = await underTerminal(argv, '[y/N] ', '\u0003', env);
    expect(code, output).toBe(1);
    expect(output).toMatch(/Declined: nothing was changed/);
    expect(readFileSync(host.templatePath)).toEqual(BROKEN);
  });
});
