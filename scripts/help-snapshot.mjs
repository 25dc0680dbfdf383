// npm run build's last step: saves `apply-ws-fix --help` as yargs renders it, so the plain --help need not load yargs
// (src/cli/help-snapshot.ts says when the saved text is used). Rendered by the built CLI itself, with stdout a pipe
// (110 columns), the C locale, no APPLY_WS_FIX_* setting and no config file, as the snapshot's users are.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { HELP_SNAPSHOT, helpFingerprint } = await import('../dist/src/cli/help-snapshot.js');
const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
// An older snapshot would answer instead of yargs.
rmSync(HELP_SNAPSHOT, { force: true });
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('APPLY_WS_FIX_') && !/^(LC_ALL|LC_MESSAGES|LANG|LANGUAGE)$/.test(name)));
const cwd = mkdtempSync(join(tmpdir(), 'awf-help-'));
try {
  const stdout = execFileSync(process.execPath, [cli, '--help'], { cwd, env: { ...env, LC_ALL: 'C' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  // main() writes the text and one newline.
  writeFileSync(HELP_SNAPSHOT, `${JSON.stringify({ fingerprint: helpFingerprint(), text: stdout.replace(/\n$/, '') }, null, 2)}\n`);
} finally {
  rmSync(cwd, { recursive: true, force: true });
}
