// The CLI on real terminals: a pty of 0 columns (script with no terminal around it), TERM=dumb, colour as
// NO_COLOR/FORCE_COLOR say, and the last frame of the live task list (tmux renders it as a person sees it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canRedraw, useColor } from '../../src/cli/terminal.js';
import { packageRoot } from '../../src/paths.js';
import { shellJoin } from '../../src/shell/quote.js';
import { hasScript } from '../helpers/terminal.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// The environment of a person at a terminal: no CI (which asks for plain output), no colour preference.
function personEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['CI', 'NO_COLOR', 'FORCE_COLOR', 'TERM'].includes(key) && !key.startsWith('APPLY_WS_FIX_')));
  return { ...env, TERM: 'xterm-256color', ...extra };
}

// Runs the CLI on a pty from `script`; `columns` 0 leaves the pty at script's default when nothing is around it.
function onPty(args: string[], env: NodeJS.ProcessEnv, columns: number): Promise<{ code: number | null; output: string }> {
  const size = columns > 0 ? `stty cols ${columns} rows 60; ` : '';
  const child = spawn('script', ['-qec', `${size}exec ${shellJoin([process.execPath, CLI, ...args])}`, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

function onPipe(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

// Cursor movement and erasing: CSI n A/B/C/D/E/F/G/H/J/K, and hiding the cursor.
const CURSOR = /\u001b\[(?:\d+(?:;\d+)?)?[A-HJK]|\u001b\[\?25[lh]/;
const GREEN_ADD = /\u001b\[32m\+map \$http_upgrade/;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

describe('canRedraw and useColor', () => {
  const tty = (columns: number) => ({ isTTY: true, columns }) as unknown as NodeJS.WriteStream;
  const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;

  it('redraws only on a terminal with a width, that can move the cursor, outside CI', () => {
    expect(canRedraw(tty(80), {})).toBe(true);
    expect(canRedraw(tty(0), {})).toBe(false);
    expect(canRedraw(tty(80), { TERM: 'dumb' })).toBe(false);
    expect(canRedraw(tty(80), { CI: '1' })).toBe(false);
    expect(canRedraw(pipe, {})).toBe(false);
  });

  it('colours a terminal unless NO_COLOR; FORCE_COLOR colours a pipe, FORCE_COLOR=0 nothing', () => {
    expect(useColor(tty(80), {})).toBe(true);
    expect(useColor(tty(80), { NO_COLOR: '1' })).toBe(false);
    expect(useColor(tty(80), { NO_COLOR: '' })).toBe(true);
    expect(useColor(tty(80), { TERM: 'dumb' })).toBe(false);
    expect(useColor(pipe, {})).toBe(false);
    expect(useColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(tty(80), { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
  });
});

describe.skipIf(!hasScript)('on a pty (script)', () => {
  it('a pty of 0 columns gets the line renderer, not one character a line', async () => {
    const { code, output } = await onPty(['--demo', '--dry-run'], personEnv(), 0);
    expect(code, output).toBe(0);
    const lines = output.split(/\r?\n/);
    expect(lines.some((line) => /Connect to jnxmas@127\.0\.0\.1:\d+$/.test(line)), output).toBe(true);
    const single = lines.filter((line) => line.replace(/\u001b\[[\d;]*m/g, '').length === 1).length;
    expect(single, output.slice(0, 2000)).toBeLessThan(5);
    expect(output).not.toMatch(CURSOR);
  }, 60_000);

  it('TERM=dumb: no cursor movement, no colour, every step still shown', async () => {
    const { code, output } = await onPty(['--demo', '--dry-run'], personEnv({ TERM: 'dumb' }), 120);
    expect(code, output).toBe(0);
    expect(output).not.toMatch(CURSOR);
    expect(output).not.toMatch(/\u001b\[3\dm/);
    expect(output).toMatch(/Preconditions hold/);
  }, 60_000);

  it('a terminal gets the diff in colour; NO_COLOR=1 gets none', async () => {
    const [colour, none] = await Promise.all([onPty(['--demo', '--dry-run'], personEnv(), 120), onPty(['--demo', '--dry-run'], personEnv({ NO_COLOR: '1' }), 120)]);
    expect(colour.code).toBe(0);
    expect(colour.output).toMatch(GREEN_ADD);
    expect(colour.output).toMatch(/\u001b\[1m--- ~\/vaettir/);
    expect(colour.output).toMatch(/\u001b\[36m@@ /);
    expect(none.code).toBe(0);
    expect(none.output).toMatch(/\+map \$http_upgrade/);
    expect(none.output).not.toMatch(/\u001b\[3\dm\+/);
  }, 60_000);
});

describe('colour on a pipe', () => {
  it('none by default; FORCE_COLOR=1 colours the diff; the JSON report never carries colour', async () => {
    const [plain, forced, json] = await Promise.all([
      onPipe(['--demo', '--dry-run'], personEnv()),
      onPipe(['--demo', '--dry-run'], personEnv({ FORCE_COLOR: '1' })),
      onPipe(['--demo', '--dry-run', '--json'], personEnv({ FORCE_COLOR: '1' })),
    ]);
    expect(plain.output).toMatch(/\n\+map \$http_upgrade/);
    expect(plain.output).not.toMatch(/\u001b\[/);
    expect(forced.output).toMatch(GREEN_ADD);
    expect((JSON.parse(json.output) as { diff: string }).diff).not.toMatch(/\u001b/);
  }, 60_000);
});

describe.skipIf(!hasTmux)('the live task list in tmux', () => {
  it('each of two side-by-side checks keeps its ✔ in the last frame', async () => {
    const socket = `awf-test-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: personEnv() });
    const command = `${shellJoin(['env', '-u', 'CI', '-u', 'NO_COLOR', process.execPath, CLI, '--demo', '--settle', '0.3'])}; echo DEMO-EXIT=$?; sleep 60`;
    tmux('new-session', '-d', '-s', 'demo', '-x', '200', '-y', '100', command);
    try {
      let screen = '';
      const deadline = Date.now() + 45_000;
      while (!/DEMO-EXIT=\d+/.test(screen) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        screen = tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', 'demo');
      }
      expect(screen).toMatch(/DEMO-EXIT=0/);
      expect(screen).toMatch(/^✔ The logs carry no nginx errors: /m);
      expect(screen).toMatch(/^✔ The rendered nginx config has WebSocket support: /m);
      expect(screen).toMatch(/^✔ The public endpoint upgrades WebSockets: /m);
    } finally {
      tmux('kill-server');
    }
  }, 60_000);
});
