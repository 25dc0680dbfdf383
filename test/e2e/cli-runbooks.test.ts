// The other runbooks through the built CLI on the real host (real OpenSSH, real nginx, a real TLS upstream):
// ocapistaine-retarget onto a second real upstream, ocapistaine-rotate-token with a secret that must never show,
// and the example runbook written outside the package (real nginx sends its add_header lines).
import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { allOutputs, cliEnv, cliMissing, CLI_PATH, explain, finish, hostFlags, REPO, runCli, staleBuildWarning, type CliResult } from './cli.js';
import { httpRequest } from './harness/probes.js';
import { realHostPrerequisites, startRealHost, type RealHost } from './harness/real-host.js';
import { startRelay, startUpstream, type Relay, type Upstream } from './harness/upstream.js';
import { handshake, liveConfig } from './host-state.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e runbook tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

const TOKEN = `e2e-rotated-${Date.now().toString(36)}-c0ffee`;

describe.skipIf(skip)('the other runbooks (built CLI) on a real host', () => {
  let host: RealHost;
  let second: Upstream;
  let secondRelay: Relay | undefined;
  let dir = '';
  let newUrl = '';
  const env = () => readFileSync(join(host.projectDir, '.env'), 'utf8');
  const run = (args: string[], o: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> => {
    const started = Date.now();
    return finish(execa(process.execPath, [CLI_PATH, ...args], { reject: false, timeout: 90_000, cwd: REPO, extendEnv: false, env: { ...cliEnv(), ...o.env }, stripFinalNewline: false, ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' }) }), args, started);
  };
  const retarget = (...args: string[]) => run(['--runbook', 'ocapistaine-retarget', ...hostFlags(host), '--yes', '--json', ...args]);
  // The rotation has no --url parameter.
  const tokenFlags = () => hostFlags(host).filter((_, i, all) => all[i] !== '--url' && all[i - 1] !== '--url');

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost();
    // A second tunnel: its own certificate (for 127.0.0.1), its own control dir, a port of its own.
    dir = mkdtempSync(join(tmpdir(), 'awf-e2e-second-'));
    chmodSync(dir, 0o755);
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=ocapistaine-next.ngrok-free.app', '-addext', 'subjectAltName=IP:127.0.0.1']);
    chmodSync(join(dir, 'cert.pem'), 0o644);
    // Inside the engine's namespace, where the container's nginx reaches it; and on the same port of this machine's
    // loopback, where the host's curl (the runbook's precondition) reaches it: one URL for both, as on a real host.
    second = await startUpstream({ certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem'), controlDir: dir, logPath: join(dir, 'upstream.log'), netns: host.netns });
    secondRelay = await startRelay({ netns: host.netns, targetPort: second.port, listenPort: second.port, logPath: join(dir, 'relay.log') });
    newUrl = `https://127.0.0.1:${second.port}`;
  });
  afterAll(async () => {
    await secondRelay?.stop();
    await second?.stop();
    await host?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // No value of either token in anything the CLI printed in this file.
    for (const out of allOutputs) {
      expect(out).not.toContain(host.secret);
      expect(out).not.toContain(TOKEN);
    }
  });
  beforeEach(async () => {
    await host.reset();
    // The host's curl trusts the second tunnel's certificate, as it would trust ngrok's.
    host.writeFile('.curlrc', `cacert = ${join(dir, 'cert.pem')}\n`);
  });

  describe('ocapistaine-retarget', () => {
    test('a dead new upstream is a failed precondition: exit 3, nothing changed', async () => {
      const before = env();
      const r = await retarget('--param', 'target-url=https://127.0.0.1:9');
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error?.code).toBe('precondition-upstream');
      expect(env()).toBe(before);
    });

    test('dry-run shows the one line; apply moves nginx to the new upstream; a re-run changes nothing; --rollback puts it back', async () => {
      expect((await run([...hostFlags(host), '--yes', '--json'])).exitCode).toBe(0); // the WebSocket fix first
      const before = env();
      const dry = await retarget('--param', `target-url=${newUrl}`, '--dry-run');
      expect(dry.exitCode, explain(dry)).toBe(0);
      expect((dry.report?.diff ?? '').split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([`-OCAPISTAINE_TARGET_URL=${host.upstreamUrl}`, `+OCAPISTAINE_TARGET_URL=${newUrl}`]);
      expect(env()).toBe(before);

      await second.clearRequests();
      const applied = await retarget('--param', `target-url=${newUrl}`);
      expect(applied.exitCode, explain(applied)).toBe(0);
      expect(env()).toBe(before.replace(`OCAPISTAINE_TARGET_URL=${host.upstreamUrl}`, `OCAPISTAINE_TARGET_URL=${newUrl}`));
      expect(statSync(join(host.projectDir, '.env')).mode & 0o777).toBe(0o600);
      expect(await liveConfig(host)).toContain(`proxy_pass ${newUrl};`);
      expect((await handshake(host)).status).toBe(101);
      expect((await second.requests()).some((q) => q.upgrade && q.status === 101)).toBe(true);

      const again = await retarget('--param', `target-url=${newUrl}`);
      expect(again.report?.outcome, explain(again)).toBe('already-applied');

      const back = await retarget('--rollback');
      expect(back.report?.outcome, explain(back)).toBe('rolled-back');
      expect(env()).toBe(before);
      expect(await liveConfig(host)).toContain(`proxy_pass ${host.upstreamUrl};`);
    });

    test('a new upstream that refuses handshakes fails the check: .env and the container come back by themselves', async () => {
      expect((await run([...hostFlags(host), '--yes', '--json'])).exitCode).toBe(0);
      const before = env();
      host.writeFile('.curlrc', `cacert = ${join(dir, 'cert.pem')}\n`);
      const { mkdirSync, writeFileSync } = await import('node:fs');
      mkdirSync(join(dir, 'faults'), { recursive: true });
      writeFileSync(join(dir, 'faults', 'no-handshake'), '');
      try {
        const r = await retarget('--param', `target-url=${newUrl}`);
        expect(r.exitCode, explain(r)).toBe(1);
        expect(r.report).toMatchObject({ outcome: 'failed-and-restored', error: { step: 'websocket' } });
        expect(env()).toBe(before);
        expect(await liveConfig(host)).toContain(`proxy_pass ${host.upstreamUrl};`);
      } finally {
        rmSync(join(dir, 'faults'), { recursive: true, force: true });
      }
    });
  });

  describe('ocapistaine-rotate-token', () => {
    const printenv = async () => (await host.docker(['compose', 'exec', '-T', 'ocapistaine', 'printenv', 'OCAPISTAINE_API_TOKEN'])).stdout.trim();

    test('from stdin, --verbose --json: the container gets it, no value shows anywhere, --rollback restores .env byte for byte', async () => {
      const before = env();
      const r = await run(['--runbook', 'ocapistaine-rotate-token', ...tokenFlags(), '--yes', '--json', '--verbose', '--param', 'token=-'], { input: `${TOKEN}\n` });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(await printenv()).toBe(TOKEN);
      expect(env()).toBe(before.replace(`OCAPISTAINE_API_TOKEN=${host.secret}`, `OCAPISTAINE_API_TOKEN=${TOKEN}`));
      expect(r.report?.diff).toMatch(/^\+OCAPISTAINE_API_TOKEN=<secret, sha256 [0-9a-f]{12}…>$/m);

      const back = await run(['--runbook', 'ocapistaine-rotate-token', ...tokenFlags(), '--yes', '--json', '--verbose', '--rollback']);
      expect(back.report?.outcome, explain(back)).toBe('rolled-back');
      expect(env()).toBe(before);
      expect(await printenv()).toBe(host.secret);
      expect(statSync(join(host.projectDir, '.env.backup')).mode & 0o777).toBe(0o600);
      // Neither value in the engine's events nor in the journal.
      const calls = JSON.stringify(host.dockerEvents(0));
      const journal = (await host.runAsUser('sh', ['-c', 'cat ~/.apply-ws-fix/*/journal.jsonl'])).stdout;
      for (const text of [calls, journal, r.stdout, r.stderr, back.stdout, back.stderr]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(host.secret);
      }
    });
  });

  describe('examples/security-headers (a runbook written against the public API)', () => {
    test('real nginx sends the headers after apply, not after --rollback; a re-run changes nothing', async () => {
      const example = ['--runbook', 'examples/security-headers/runbook.mjs', ...hostFlags(host), '--yes', '--json'];
      const applied = await runCli(example);
      expect(applied.exitCode, explain(applied)).toBe(0);
      const headers = (await httpRequest(`${host.publicUrl}/_stcore/health`)).headers;
      expect(headers).toMatchObject({ 'strict-transport-security': 'max-age=31536000; includeSubDomains', 'x-content-type-options': 'nosniff' });
      expect((await runCli(example)).report?.outcome).toBe('already-applied');
      const back = await runCli([...example, '--rollback']);
      expect(back.report?.outcome, explain(back)).toBe('rolled-back');
      expect(readFileSync(host.templatePath, 'utf8')).toBe(host.originalTemplate);
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).headers['x-content-type-options']).toBeUndefined();
    });
  });
});
