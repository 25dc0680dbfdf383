import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/shell/mask.js';
import { RemotePath, anyShellQuote, shellJoin, shellQuote, underPosixShell } from '../../src/shell/quote.js';

// What /bin/sh makes of a command line: each word on its own line, via printf.
function wordsAfterShell(line: string, home = '/home/op'): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${line}`], { env: { HOME: home, PATH: '/usr/bin:/bin' } }).toString();
  return out.split('\n').slice(0, -1);
}

describe('shellQuote', () => {
  const hostile = ["$(touch /tmp/awf-pwned)", '`id`', "it's", 'a b', 'line\nbreak', '-oProxyCommand=sh', '*', '~/x', '"$HOME"', ';rm -rf /', ''];

  it.each(hostile)('keeps %j one literal word through a real shell', (value) => {
    expect(wordsAfterShell(shellQuote(value))).toEqual(value.includes('\n') ? value.split('\n') : [value]);
  });

  it('leaves plain words unquoted so verbose output stays readable', () => {
    expect(shellQuote('ocapistaine')).toBe('ocapistaine');
    expect(shellQuote('/etc/nginx/nginx.conf')).toBe('/etc/nginx/nginx.conf');
    expect(shellQuote('a b')).toBe("'a b'");
  });

  it('refuses a NUL byte, which no shell word can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('RemotePath', () => {
  it('expands a leading ~/ to the remote home while quoting the rest', () => {
    const path = new RemotePath("~/my dir/$(x)");
    expect(path.toShell()).toBe(`"$HOME"/'my dir/$(x)'`);
    expect(wordsAfterShell(path.toShell(), '/home/j n')).toEqual(['/home/j n/my dir/$(x)']);
  });

  it('joins below a home-relative path', () => {
    const path = new RemotePath('~/vaettir').join('proxy-configs/ocapistaine.conf.template');
    expect(path.path).toBe('~/vaettir/proxy-configs/ocapistaine.conf.template');
    expect(path.name).toBe('ocapistaine.conf.template');
    expect(wordsAfterShell(shellJoin(['cat', '--', path]))).toEqual(['cat', '--', '/home/op/vaettir/proxy-configs/ocapistaine.conf.template']);
  });

  it('does not expand ~ elsewhere in the path', () => {
    expect(wordsAfterShell(new RemotePath('/srv/~/x').toShell())).toEqual(['/srv/~/x']);
  });
});

describe('maskSecrets', () => {
  it('masks every NAME=value but the allowed ones', () => {
    const env = 'PATH=/usr/bin\nOCAPISTAINE_TARGET_URL=https://t.example\nOCAPISTAINE_API_TOKEN=s3cr3t\nexport DB_PASSWORD=hunter2';
    const masked = maskSecrets(env, ['OCAPISTAINE_TARGET_URL']);
    expect(masked).toContain('OCAPISTAINE_TARGET_URL=https://t.example');
    expect(masked).toContain('OCAPISTAINE_API_TOKEN=***');
    expect(masked).toContain('export DB_PASSWORD=***');
    expect(masked).not.toMatch(/s3cr3t|hunter2/);
  });

  it('masks an assignment inside a log line, and leaves lowercase words alone', () => {
    const line = 'ocapistaine-1  | OCAPISTAINE_API_TOKEN=s3cr3t [crit] x; GET /?page=2 OCAPISTAINE_TARGET_URL=https://t';
    expect(maskSecrets(line, ['OCAPISTAINE_TARGET_URL'])).toBe('ocapistaine-1  | OCAPISTAINE_API_TOKEN=*** [crit] x; GET /?page=2 OCAPISTAINE_TARGET_URL=https://t');
  });
});

// The login shells a remote user may have; the ones not installed here are skipped (test/e2e/install-deps.sh adds them).
const LOGIN_SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh', '/usr/bin/fish'];
const tricky = [...["$(touch /tmp/awf-pwned)", '`id`', "it's", 'a b', 'line\nbreak', '*', '~/x', '"$HOME"', ';rm -rf /', '']
  , 'back\\slash', 'ends in \\', '\\\'', "'\\''", '(echo fish)', '{a,b}', '%self', '# not a comment', 'a\\\\b', "''", '$HOME\\n'];

// What a login shell makes of a line, as sshd runs it: `shell -c line`, in an environment with no rc files.
function viaLoginShell(shell: string, line: string): string {
  return execFileSync(shell, ['-c', line], { env: { HOME: '/nonexistent', PATH: '/usr/bin:/bin', XDG_CONFIG_HOME: '/nonexistent' } }).toString();
}

describe.each(LOGIN_SHELLS)('a command line under the login shell %s', (shell) => {
  const missing = !existsSync(shell);

  it.skipIf(missing).each(tricky)('anyShellQuote keeps %j one literal word', (value) => {
    expect(viaLoginShell(shell, `printf '[%s]\\n' ${anyShellQuote(value)}`)).toBe(`[${value}]\n`);
  });

  it.skipIf(missing)('underPosixShell runs the command under /bin/sh with its words, stdin and exit status intact', () => {
    const command = `printf '%s|' ${tricky.map(shellQuote).join(' ')}; for f in /nonexistent-awf/*.backup.*; do printf '<%s>' "$f"; done; read -r line; printf '%s' "$line"; exit 7`;
    let out = '';
    let status = 0;
    try {
      out = execFileSync(shell, ['-c', underPosixShell(command)], { input: 'from stdin\n', env: { HOME: '/nonexistent', PATH: '/usr/bin:/bin', XDG_CONFIG_HOME: '/nonexistent' } }).toString();
    } catch (error) {
      const failed = error as { status: number; stdout: Buffer };
      status = failed.status;
      out = failed.stdout.toString();
    }
    expect(status).toBe(7);
    // an unmatched glob stays itself (POSIX), instead of zsh's "no matches found" or fish's error
    expect(out).toBe(`${tricky.join('|')}|</nonexistent-awf/*.backup.*>from stdin`);
  });
});
