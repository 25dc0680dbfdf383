// The passphrase prompt on a real pseudo-terminal (util-linux `script`): the built CLI asks before the task list,
// the terminal echoes nothing typed, and the run goes on with the key. Were raw mode not set, the pty would echo
// the passphrase into this output.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { encryptedCopy } from './key-helpers.js';
import { hasScript, underTerminal } from '../helpers/terminal.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli.js');
const PASS = 'typed on a real terminal';
describe.skipIf(!hasScript || !existsSync(CLI))('the passphrase prompt on a real terminal (built CLI, fake host)', () => {
  let host: FakeHost;
  const scratch = mkdtempSync(join(tmpdir(), 'prompt-tty-test-'));
  beforeAll(async () => {
    host = await startFakeHost();
  });
  afterAll(async () => {
    await host?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('asks without echo, before the task list, and connects with the typed passphrase', async () => {
    const identity = encryptedCopy(host.privateKeyPath, join(scratch, 'locked'), PASS);
    const argv = [process.execPath, CLI, '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', identity, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--url', host.publicUrl, '--dry-run'];
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch, TERM: 'dumb', LANG: 'C.UTF-8' };
    const { code, output } = await underTerminal(argv, `Enter passphrase for key '${identity}': `, `${PASS}\r`, env);
    expect(code, output).toBe(0);
    expect(output).not.toContain(PASS);
    // The prompt comes first, on a line of its own, before the task list draws anything.
    expect(output.startsWith(`Enter passphrase for key '${identity}': \r\n`), output).toBe(true);
    expect(output).toMatch(/Dry run: nothing was changed/);
  });
});
