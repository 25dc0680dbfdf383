// SIGTERM or SIGHUP while the y/N question waits on a real terminal: the question ends at once (no), the run releases
// the host's lock, and the exit code is the signal's (143, 129). Before, the question kept waiting with the lock held.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { BROKEN } from '../helpers/context.js';
import { MARK, processesWithMarker } from '../helpers/processes.js';
import { hasScript, underTerminal } from '../helpers/terminal.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

describe.skipIf(!hasScript || !existsSync(CLI))('a signal at the confirmation prompt on a real terminal', () => {
  let host: FakeHost;
  beforeEach(async () => {
    host = await startFakeHost();
  });
  afterEach(async () => {
    await host?.close();
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s at the prompt: exit %i, the lock released, the template untouched', async (signal, exitCode) => {
    const marker = randomBytes(8).toString('hex');
    const argv = [process.execPath, CLI, '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--url', host.publicUrl, '--json'];
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: host.home, TERM: 'dumb', LANG: 'C.UTF-8', [MARK]: marker };
    // The signal goes to the apply-ws-fix process itself (not to `script`), as `kill PID` or a closing terminal does.
    const send = (): void => {
      const [cli] = processesWithMarker(marker).filter((p) => p.cmdline.startsWith(`${process.execPath} ${CLI}`));
      if (cli) process.kill(cli.pid, signal);
    };
    const { code, output } = await underTerminal(argv, '[y/N] ', send, env);
    expect(code, output).toBe(exitCode);
    expect(output).toContain(`${signal}: stopping`);
    // --json: the one report on stdout says what happened (the pty mixes stdout and stderr; the object is there whole).
    expect(output).toMatch(new RegExp(`"outcome": "failed-nothing-changed",\\s+"exitCode": ${exitCode}`));
    expect(readFileSync(host.templatePath)).toEqual(BROKEN);
    const states = readdirSync(join(host.home, '.apply-ws-fix'));
    expect(states).toHaveLength(1);
    expect(readdirSync(join(host.home, '.apply-ws-fix', states[0]!))).not.toContain('lock');
  });
});
