// The whole runbook over real SSH against a fake host whose user logs in with bash, dash, zsh or fish: sshd runs
// every command with the login shell, and the transport must make each one run under /bin/sh all the same.
// The shells not installed here are skipped (test/e2e/install-deps.sh installs them; the e2e suite runs the same
// with a real sshd).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { runAgainst } from '../helpers/fake-run.js';
import { BROKEN_TEMPLATE, FIXED_TEMPLATE } from '../fake-host/helpers.js';

const SHELLS = ['/bin/bash', '/bin/dash', '/usr/bin/zsh', '/usr/bin/fish'];
let host: FakeHost | undefined;

afterEach(async () => {
  await host?.close();
  host = undefined;
});

describe.each(SHELLS)('login shell %s', (shell) => {
  it.skipIf(!existsSync(shell))('stdin, exit status and a killing signal pass through the /bin/sh in between', async () => {
    host = await startFakeHost({ loginShell: shell });
    const h = host;
    const transport = await connectSsh({ host: h.host, port: h.port, user: h.user, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, connectTimeoutMs: 5000, env: {} });
    try {
      const bytes = Buffer.from([0x00, 0xff, 0x5c, 0x27, 0x0a, 0x24]);
      const echo = await transport.exec("cat; printf '%s' \"$0\" >&2; exit 7", { stdin: bytes });
      expect(echo).toMatchObject({ code: 7, signal: null });
      expect(echo.stdout.equals(bytes)).toBe(true);
      expect(echo.stderr.toString()).toBe('/bin/sh');
      const killed = await transport.exec('kill -TERM $$');
      expect(killed).toMatchObject({ code: null, signal: 'SIGTERM' });
    } finally {
      await transport.close();
    }
  });


  it.skipIf(!existsSync(shell))('dry-run, apply and rollback all work, every command under /bin/sh', async () => {
    host = await startFakeHost({ crashWindowMs: 150, loginShell: shell });
    const dry = await runAgainst(host, { dryRun: true });
    expect(dry.report.error).toBeNull();
    expect(dry.report).toMatchObject({ outcome: 'dry-run', exitCode: 0 });
    expect(await readFile(host.templatePath)).toEqual(BROKEN_TEMPLATE);

    const apply = await runAgainst(host);
    expect(apply.report.error).toBeNull();
    expect(apply.report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(await readFile(host.templatePath)).toEqual(FIXED_TEMPLATE);

    const rollback = await runAgainst(host, { action: 'rollback' });
    expect(rollback.report.error).toBeNull();
    expect(rollback.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(await readFile(host.templatePath)).toEqual(BROKEN_TEMPLATE);
    expect(existsSync(join(host.projectDir, 'proxy-configs'))).toBe(true);
    // sshd handed each command line to the login shell, which only replaced itself with /bin/sh
    expect(host.stats.commands.length).toBeGreaterThan(10);
    expect(host.stats.commands.every((command) => command.startsWith('exec /bin/sh -c '))).toBe(true);
  });
});
