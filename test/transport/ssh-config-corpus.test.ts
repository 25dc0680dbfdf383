// The differential test of issue 15: every config of test/transport/ssh-config-corpus/ is resolved by our reader and by
// OpenSSH's own `ssh -G`, for each name its header lists, and compared key by key with the comparator the CLI uses at
// run time (src/transport/ssh-config-openssh.ts): HostName, User, Port, IdentityFile, CertificateFile, IdentitiesOnly,
// IdentityAgent, ProxyJump, ProxyCommand, UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias,
// StrictHostKeyChecking, HashKnownHosts. Cases marked `refuse` must also be refused by us, with file, line and keyword.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSshConfig, resolveSshConfig, type ResolveInput } from '../../src/transport/ssh-config.js';
import { compareHop, findSsh, runSshG } from '../../src/transport/ssh-config-openssh.js';

const CORPUS = join(import.meta.dirname, 'ssh-config-corpus');
const ssh = findSsh(process.env);
const me = userInfo();
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: me.homedir, USER: me.username, AWF_CORPUS_VAR: 'corpus-value' };
const scratch = mkdtempSync(join(tmpdir(), 'ssh-config-corpus-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Case {
  name: string;
  dir: string;
  config: string;
  resolve: { line: string; alias: string; user?: string; port?: number }[];
  refuse?: RegExp;
  noSshG: boolean;
}

// Every file of the case, copied with @DIR@ replaced by where it now lives (Include takes absolute paths here: with
// -F, ssh resolves relative ones under the real ~/.ssh, which a test must not touch).
function materialize(name: string): string {
  const dir = join(scratch, name);
  cpSync(join(CORPUS, name), dir, { recursive: true });
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else writeFileSync(full, readFileSync(full, 'utf8').replaceAll('@DIR@', dir));
    }
  };
  walk(dir);
  return dir;
}

function loadCases(): Case[] {
  return readdirSync(CORPUS)
    .filter((name) => statSync(join(CORPUS, name)).isDirectory())
    .sort()
    .map((name) => {
      const dir = materialize(name);
      const config = join(dir, 'config');
      const header = readFileSync(config, 'utf8').split('\n').filter((line) => line.startsWith('# '));
      const value = (key: string) => header.filter((line) => line.startsWith(`# ${key}: `)).map((line) => line.slice(`# ${key}: `.length).trim());
      const resolve = value('resolve').map((line) => {
        const words = line.split(/\s+/);
        const spec: Case['resolve'][number] = { line, alias: words.at(-1)! };
        for (let i = 0; i < words.length - 1; i += 2) {
          if (words[i] === '-l') spec.user = words[i + 1]!;
          if (words[i] === '-p') spec.port = Number(words[i + 1]);
        }
        return spec;
      });
      const refuse = value('refuse')[0];
      return { name, dir, config, resolve, ...(refuse !== undefined ? { refuse: new RegExp(refuse) } : {}), noSshG: value('no-ssh-g').length > 0 };
    });
}

const cases = loadCases();
const uid = process.getuid?.() ?? 0;
const ours = (c: Case, spec: Case['resolve'][number]) => {
  const input: ResolveInput = { alias: spec.alias, user: spec.user, port: spec.port, home: me.homedir, localUser: me.username, env, localHost: hostname(), uid };
  return resolveSshConfig([parseSshConfig(readFileSync(c.config, 'utf8'), c.config, { home: me.homedir, system: false, checkPermissions: true, uid })], input);
};

describe('the corpus', () => {
  it('has at least 30 configs, each naming what to resolve', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) expect(c.resolve.length, c.name).toBeGreaterThan(0);
  });

  it.each(cases.filter((c) => c.refuse !== undefined))('$name: refused, naming the file, line and keyword', (c) => {
    const resolved = ours(c, c.resolve[0]!);
    expect(resolved.refusals.join('\n')).toMatch(c.refuse!);
    // The file named is the config or a file it includes, with the line.
    expect(resolved.refusals[0]).toMatch(new RegExp(`^${c.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^ ]+ line \\d+: `));
  });

  it.each(cases.filter((c) => c.refuse === undefined))('$name: nothing refused', (c) => {
    for (const spec of c.resolve) expect(ours(c, spec).refusals, spec.line).toEqual([]);
  });
});

const rows = cases.filter((c) => !c.noSshG).flatMap((c) => c.resolve.map((spec) => ({ c, spec, label: `${c.name}: ssh -G ${spec.line}` })));

describe.skipIf(ssh === undefined)(`differential: our reader against OpenSSH's ssh -G${ssh === undefined ? ' (skipped: ssh is not installed; apt-get install -y openssh-client)' : ''}`, () => {
  it.each(rows)('$label', async ({ c, spec }) => {
    const theirs = await runSshG(ssh!, { configFile: c.config, user: spec.user, port: spec.port, host: spec.alias }, env);
    const mine = ours(c, spec);
    expect(compareHop(spec.line, mine, theirs, { home: me.homedir, localUser: me.username, env, localHost: hostname(), uid })).toEqual([]);
    // The comparison must have had something to compare: OpenSSH 9.2 prints every keyword the comparator reads.
    for (const key of ['hostname', 'user', 'port', 'userknownhostsfile', 'globalknownhostsfile', 'stricthostkeychecking', 'identitiesonly', 'hashknownhosts']) expect(theirs.has(key), key).toBe(true);
  });

  it('ssh -G did not run a Match exec whose earlier criterion failed (18), as we never run one', () => {
    expect(existsSync(join(scratch, '18-match-exec-not-reached', 'exec-ran'))).toBe(false);
  });
});

describe.skipIf(ssh === undefined)('an unknown keyword: refused by both', () => {
  it('ssh -G refuses it, and we refuse it naming the line', async () => {
    const config = join(scratch, 'unknown-keyword');
    writeFileSync(config, 'Host other\n  FutureKeyword yes\nHost web\n  User deploy\n');
    await expect(runSshG(ssh!, { configFile: config, host: 'web' }, env)).rejects.toThrow(/Bad configuration option: futurekeyword/);
    const input: ResolveInput = { alias: 'web', home: me.homedir, localUser: me.username, env, localHost: hostname(), uid };
    expect(resolveSshConfig([parseSshConfig(readFileSync(config, 'utf8'), config)], input).refusals[0]).toMatch(new RegExp(`line 2: futurekeyword yes: a keyword apply-ws-fix does not know`));
  });
});
