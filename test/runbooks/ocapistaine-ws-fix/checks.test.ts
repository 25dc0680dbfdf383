// The read-only checks against scripted command results: what passes, what fails, and what they say.
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../src/transport/transport.js';
import { BROKEN, DESIRED, TARGET, facts, render, scopeWith, type HostFacts } from '../../helpers/context.js';

type Answer = { stdout?: string | Buffer; code?: number };
const RUNNING = '{"Name":"vaettir-ocapistaine-1","Service":"ocapistaine","State":"running","Status":"Up 1 second"}';

// Answers by a substring of the command; a function answer sees how often `up` ran, for a host that changes.
function scripted(answers: Record<string, Answer | ((ups: number) => Answer)>, hostFacts: HostFacts = facts()) {
  let ups = 0;
  return scopeWith(hostFacts, { settleMs: 0 }, {
    label: 'test',
    close: async () => {},
    exec: async (command): Promise<ExecResult> => {
      if (command.includes(' up -d')) ups++;
      const key = Object.keys(answers).find((k) => command.includes(k));
      const found = key ? answers[key]! : { code: 127, stdout: '' };
      const answer = typeof found === 'function' ? found(ups) : found;
      return { command, stdout: Buffer.from(answer.stdout ?? ''), stderr: Buffer.alloc(0), code: answer.code ?? 0, signal: null, durationMs: 1 };
    },
  });
}

// A check run as after a deploy of this run (the facts are stale, and the deploy is journaled), or as on a host this run did not change.
function runCheck(id: string, answers: Record<string, Answer | ((ups: number) => Answer)>, options: { deployed?: boolean; facts?: HostFacts } = {}): Promise<string> {
  const s = scripted(answers, options.facts);
  if (options.deployed) s.scope.journal.record('deploy', 'compose-up', {});
  return s.check(id).run(s.checkContext(options.deployed ?? false));
}

describe('rendered check', () => {
  it('passes the seed config and reports the target URL only', async () => {
    await expect(runCheck('rendered', { 'cat /etc/nginx/nginx.conf': { stdout: render(DESIRED) }, printenv: { stdout: `${TARGET}\n` } }, { deployed: true })).resolves.toBe(`map block and upgrade headers present; OCAPISTAINE_TARGET_URL=${TARGET}`);
  });

  it('names every missing directive of the broken config', async () => {
    await expect(runCheck('rendered', { 'cat /etc/nginx/nginx.conf': { stdout: render(BROKEN) }, printenv: { stdout: TARGET }, ' up -d': {}, ' ps ': { stdout: RUNNING } }, { deployed: true })).rejects.toThrow(/lacks: map \$http_upgrade \$connection_upgrade block; proxy_http_version 1\.1 in location \/; proxy_set_header Upgrade \$http_upgrade in location \/; proxy_set_header Connection \$connection_upgrade in location \/ \(also after one up -d --force-recreate\)$/);
  });

  it('recreates the container once when it kept the old config, and passes if that fixes it', async () => {
    const answers = {
      'cat /etc/nginx/nginx.conf': (ups: number) => ({ stdout: ups === 0 ? render(BROKEN) : render(DESIRED) }),
      printenv: { stdout: TARGET },
      ' up -d': {},
      ' ps ': { stdout: RUNNING },
    };
    await expect(runCheck('rendered', answers, { deployed: true })).resolves.toMatch(/present; .* \(after one up -d --force-recreate: the container had kept the old config\)$/);
  });

  it('does not touch a host this run did not change: it only reports', async () => {
    await expect(runCheck('rendered', { ' up -d': { code: 99 } }, { facts: facts({ rendered: render(BROKEN) }) })).rejects.toThrow(/lacks: map[^(]*$/);
  });

  it('fails when the target URL is not set in the container', async () => {
    await expect(runCheck('rendered', { 'cat /etc/nginx/nginx.conf': { stdout: render(DESIRED) }, printenv: { code: 1 } }, { deployed: true })).rejects.toThrow(/OCAPISTAINE_TARGET_URL is not set/);
  });

  it('says the image lacks printenv, instead of calling the variable unset (exit 127 of a missing command)', async () => {
    await expect(runCheck('rendered', { 'cat /etc/nginx/nginx.conf': { stdout: render(DESIRED) }, printenv: { code: 127, stdout: '' } }, { deployed: true })).rejects.toThrow(/cannot check OCAPISTAINE_TARGET_URL: the container has no printenv \(exit 127/);
  });

  it('fails on an unsubstituted variable', async () => {
    await expect(runCheck('rendered', { 'cat /etc/nginx/nginx.conf': { stdout: DESIRED }, printenv: { stdout: TARGET } }, { deployed: true })).rejects.toThrow(/unsubstituted/);
  });

  it('uses the facts read moments ago when nothing was deployed', async () => {
    await expect(runCheck('rendered', {}, { facts: facts({ rendered: render(DESIRED) }) })).resolves.toMatch(/present/);
  });
});

describe('blockBody', () => {
  it('finds the location / block despite braces in comments and strings', async () => {
    const { blockBody } = await import('../../../runbooks/ocapistaine-ws-fix/nginx-block.js');
    const config = 'server {\n  location /x { a; }\n  location / {\n    # a } in a comment\n    add_header X "}";\n    inner { b; }\n  }\n}\n';
    expect(blockBody(config, /^\s*location\s+\/\s*\{/m)).toBe('\n    # a } in a comment\n    add_header X "}";\n    inner { b; }\n  ');
    expect(blockBody('server { }', /location/)).toBeUndefined();
  });
});

describe('logs check', () => {
  it('fails on an [error] line and quotes it with secrets masked', async () => {
    const error = await runCheck('logs', { 'compose logs': { stdout: 'ocapistaine-1  | 2026/11/26 [error] 1#1: bad\nocapistaine-1  | OCAPISTAINE_API_TOKEN=s3cr3t [crit] x\n' } }, { deployed: true }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/2 nginx error line/);
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('passes clean logs', async () => {
    await expect(runCheck('logs', { 'compose logs': { stdout: 'ocapistaine-1  | [notice] 1#1: start worker processes\n' } }, { deployed: true })).resolves.toMatch(/no \[emerg\]/);
  });

  it('reads the logs gathered with the facts when nothing was restarted (no command)', async () => {
    await expect(runCheck('logs', {}, { facts: facts({ logs: 'ocapistaine-1  | nginx: [emerg] something\n' }) })).rejects.toThrow(/1 nginx error line/);
  });
});

describe('parseFramedFiles', () => {
  it('reads name, size and bytes frames, binary and empty files included', async () => {
    const { parseFramedFiles } = await import('../../../src/lib/file-commands.js');
    const frame = (name: string, content: Buffer) => Buffer.concat([Buffer.from(`${name}\n      ${content.length}\n`), content]);
    const binary = Buffer.from([0, 10, 255, 10]);
    const out = Buffer.concat([frame('a.backup', Buffer.from('x\ny')), frame('a.backup.2', binary), frame('a.backup.3', Buffer.alloc(0))]);
    expect(parseFramedFiles(out)).toEqual([
      { name: 'a.backup', content: Buffer.from('x\ny') },
      { name: 'a.backup.2', content: binary },
      { name: 'a.backup.3', content: Buffer.alloc(0) },
    ]);
    expect(parseFramedFiles(Buffer.from('a.backup\n10\nshort'))).toEqual([]);
  });
});
