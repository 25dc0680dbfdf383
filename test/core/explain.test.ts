// `explain` renders each runbook's manual procedure from the plan data that runs; done by hand, step by step, through
// plain OpenSSH against the fake host, it must reach the same end state as the tool, and its rollback must undo it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import retarget from '../../runbooks/ocapistaine-retarget/runbook.js';
import rotateToken from '../../runbooks/ocapistaine-rotate-token/runbook.js';
import ocapistaineWsFix from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { optionsForFakeHost } from '../../src/cli/demo.js';
import { explainMarkdown, planForHost } from '../../src/core/explain.js';
import type { Runbook } from '../../src/core/types.js';
import { UPSTREAMS, startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { setDotenvKey } from '../../src/kinds/dotenv-key.js';
import { sha256 } from '../../src/lib/checksum.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { runOptions } from '../helpers/context.js';
import { runAgainst, snapshotFiles } from '../helpers/fake-run.js';
import { packageRoot } from '../../src/paths.js';

const securityHeaders = (await import('../../examples/security-headers/runbook.mjs' as string)).default as Runbook;
const TOKEN = 'rotated-by-hand-5e4d3c2b1a';
const OLD_TOKEN = 'fake-secret-token-do-not-print-7f3a9c';

interface Case {
  runbook: Runbook;
  params: Record<string, string>;
  /** What a person writes to ~/apply-ws-fix.stdin for a step whose input holds secrets (from the file on the host now). */
  input?: (host: FakeHost) => Promise<Buffer>;
  /** Set up before: the WebSocket fix, which the retarget's checks need. */
  withFix?: boolean;
}

const envOf = (host: FakeHost) => readFile(join(host.projectDir, '.env'));
const CASES: Record<string, Case> = {
  'ocapistaine-ws-fix': { runbook: ocapistaineWsFix, params: {} },
  'ocapistaine-retarget': { runbook: retarget, params: { 'target-url': UPSTREAMS[1] }, withFix: true, input: async (h) => setDotenvKey(await envOf(h), 'OCAPISTAINE_TARGET_URL', UPSTREAMS[1]) },
  'ocapistaine-rotate-token': { runbook: rotateToken, params: { token: TOKEN }, input: async (h) => setDotenvKey(await envOf(h), 'OCAPISTAINE_API_TOKEN', TOKEN) },
  'security-headers (examples/)': { runbook: securityHeaders, params: {} },
};

let hosts: FakeHost[] = [];
beforeEach(async () => {
  hosts = await Promise.all([startFakeHost({ crashWindowMs: 150 }), startFakeHost({ crashWindowMs: 150 })]);
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

const optionsFor = (host: FakeHost, c: Case) => {
  const base = runOptions({ settleMs: 300 });
  return optionsForFakeHost({ ...base, params: { dir: '~/vaettir', service: 'ocapistaine', url: 'unused', ...c.params } }, host);
};

async function explainFor(host: FakeHost, c: Case): Promise<string> {
  const options = optionsFor(host, c);
  const plan = await planForHost(options, c.runbook, { connect: (o) => connectSsh({ ...o, env: {} }), interrupt: { signal: null } });
  return explainMarkdown(c.runbook, options, plan);
}

/** The ```sh blocks of one section of the Markdown, in order. */
function shellBlocks(markdown: string, section: string): string[] {
  const start = markdown.indexOf(`\n## ${section}\n`);
  expect(start, `no section ${section}`).toBeGreaterThan(0);
  const end = markdown.indexOf('\n## ', start + 1);
  const body = markdown.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
}

// Plain OpenSSH, as a person types it: the block is the remote command (sshd hands it to the login shell).
const ssh = (host: FakeHost, command: string, input = '') =>
  execa('ssh', ['-F', '/dev/null', '-p', String(host.port), '-i', host.privateKeyPath, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${host.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${host.user}@${host.host}`, command], { input, reject: false, timeout: 60_000 });

// What the end state is: the project's files, and what the container runs (config and the two variables).
async function endState(host: FakeHost): Promise<{ files: Map<string, Buffer>; rendered: string | undefined; env: string }> {
  const env = await ssh(host, 'cd ~/vaettir && docker compose exec -T ocapistaine printenv OCAPISTAINE_TARGET_URL OCAPISTAINE_API_TOKEN');
  return { files: await snapshotFiles(host.projectDir), rendered: host.container()?.renderedConfig, env: env.stdout };
}

describe('explain, done by hand through plain ssh', () => {
  it('covers every built-in runbook', async () => {
    const { builtInIds } = await import('../../src/cli/registry.js');
    expect(builtInIds().every((id) => Object.hasOwn(CASES, id))).toBe(true);
  });

  it.each(Object.entries(CASES))('%s: the procedure reaches the tool\'s end state, and its rollback undoes it', async (_name, c) => {
    const [byHand, byTool] = hosts as [FakeHost, FakeHost];
    if (c.withFix) for (const h of hosts) expect((await runAgainst(h)).report.outcome).toBe('applied');
    const before = await endState(byHand);

    const markdown = await explainFor(byHand, c);
    expect(markdown).not.toContain(TOKEN);
    expect(markdown).not.toContain(OLD_TOKEN);
    const steps = shellBlocks(markdown, "Procedure");
    expect(steps.length).toBeGreaterThan(0);
    for (const block of steps) {
      if (block.includes('apply-ws-fix.stdin')) {
        // The person writes the secret-holding input first, and checks it against the sha256 the procedure gives.
        const bytes = await c.input!(byHand);
        expect(markdown).toContain(`sha256 \`${sha256(bytes)}\``);
        const wrote = await ssh(byHand, 'umask 077 && cat > ~/apply-ws-fix.stdin', bytes.toString('latin1'));
        expect(wrote.exitCode).toBe(0);
      }
      const { exitCode, stderr } = await ssh(byHand, block);
      expect(exitCode, `${block}\n${stderr}`).toBe(0);
    }

    const { report } = await runAgainst(byTool, { params: optionsFor(byTool, c).params }, {}, c.runbook);
    expect(report.error).toBeNull();
    expect(report.outcome).toBe('applied');
    const [hand, tool] = [await endState(byHand), await endState(byTool)];
    expect(hand.files).toEqual(tool.files);
    expect(hand.rendered).toBe(tool.rendered);
    expect(hand.env).toBe(tool.env);
    // The tool agrees: on the host changed by hand, there is nothing left to do.
    expect((await runAgainst(byHand, { params: optionsFor(byHand, c).params }, {}, c.runbook)).report.outcome).toBe('already-applied');

    // The rollback section, by hand, puts the host back as it was before the procedure (the backups stay).
    for (const block of shellBlocks(markdown, 'Roll back')) {
      const { exitCode, stderr } = await ssh(byHand, block);
      expect(exitCode, `${block}\n${stderr}`).toBe(0);
    }
    const after = await endState(byHand);
    for (const [path, bytes] of before.files) expect(after.files.get(path), path).toEqual(bytes);
    expect(after.rendered).toBe(before.rendered);
    expect(after.env).toBe(before.env);
  });

  it('without --host, every step says when it runs, and the checks what they expect', () => {
    for (const c of Object.values(CASES)) {
      const markdown = explainMarkdown(c.runbook, { ...runOptions(), params: { dir: '~/vaettir', service: 'ocapistaine', url: 'https://example.test' } });
      const apply = c.runbook.apply({ dir: '~/vaettir', service: 'ocapistaine', url: 'https://example.test' });
      for (const step of apply.steps) {
        expect(markdown).toContain(`. ${step.title}\n`);
        if (step.condition) expect(markdown).toContain(step.condition);
      }
      for (const check of apply.checks) expect(markdown).toContain(`**${check.title}**${check.expects ? `: ${check.expects}` : ''}`);
      expect(markdown).toContain('## Roll back');
    }
  });
});

describe('apply-ws-fix explain (the built CLI)', () => {
  const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
  const cli = (args: string[], env: Record<string, string> = {}) => execa('node', [CLI, 'explain', ...args], { reject: false, env: { NO_COLOR: '1', ...env }, timeout: 60_000 });

  it('without --host needs no value that only an apply needs, and says where the commands come from', async () => {
    const { exitCode, stdout, stderr } = await cli(['--runbook', 'ocapistaine-retarget']);
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toMatch(/^# Point the ocapistaine proxy at a new upstream\n/);
    expect(stdout).toContain('| target-url | (not given) |');
    expect(stdout).toContain('explain --host HOST` prints them for that host');
  });

  it('with --host reads the host and prints the exact commands; a secret parameter shows as its checksum only', async () => {
    const [host] = hosts as [FakeHost];
    const flags = ['--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none'];
    const { exitCode, stdout, stderr } = await cli(['--runbook', 'ocapistaine-rotate-token', ...flags], { APPLY_WS_FIX_PARAM_TOKEN: TOKEN });
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toContain('| token | `<secret, sha256 ');
    expect(stdout).toContain('< "$HOME"/apply-ws-fix.stdin');
    expect(stdout).toContain('docker compose --profile production --profile proxy up -d --force-recreate ocapistaine');
    for (const text of [stdout, stderr]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(OLD_TOKEN);
    }
    // Only read: nothing on the host changed, not even a lock.
    expect(host.stats.commands.filter((c) => /compose (build|up)|mv -f|ln -s/.test(c))).toEqual([]);
  });
});
