// Runs the built CLI (dist/src/cli.js) as a user does and reads what it printed: the --json report on
// stdout and, with --verbose, each remote command's "(exit N, M ms)" line on stderr as it arrived.
import { fileURLToPath } from 'node:url';
import { unionLength } from './stats.js';
import { cleanEnv, spawnTimed, type Timed } from './spawn.js';

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface Target {
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  url: string;
}

export interface AwfRun {
  wallMs: number;
  exitCode: number | null;
  outcome: string;
  /** Remote commands run (one `$ …` line each with --verbose). */
  commands: number;
  /** Time during which at least one remote command ran (concurrent channels counted once). */
  remoteBusyMs: number;
  /** Sum of the commands' own durations (concurrent channels counted each). */
  remoteSumMs: number;
  /** Spawn → the first line of the task list: Node start, module loading, argument parsing. */
  startupMs: number | null;
  /** "❯ Connect" → "✔ Connect": TCP, SSH handshake, key exchange, authentication. */
  connectMs: number | null;
  steps: Array<{ id: string; status: string; durationMs: number }>;
  /** Each remote command as --verbose announced it: ms after spawn, and the command line. */
  commandStarts: Array<{ t: number; command: string }>;
  /** ms after spawn when the last logged command ended. */
  lastCommandEnd: number;
  /** The last lines of stderr, for a run that did not end as expected. */
  stderrTail: string;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function cliArgs(target: Target, settleSeconds: number, verbose: boolean): string[] {
  return [
    '--host', '127.0.0.1', '--port', String(target.port), '--user', target.user,
    '--identity', target.identity, '--known-hosts', target.knownHosts, '--url', target.url,
    '--yes', '--json', '--settle', String(settleSeconds), ...(verbose ? ['--verbose'] : []),
  ];
}

export function analyse(timed: Timed): AwfRun {
  let report: { outcome?: string; steps?: Array<{ id: string; status: string; durationMs: number }> } = {};
  try {
    report = JSON.parse(timed.stdout) as typeof report;
  } catch {
    report = { outcome: `no JSON report (exit ${timed.code}): ${timed.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
  const lines = timed.lines.map((l) => ({ t: l.t, text: l.text.replace(ANSI, '') }));
  const intervals: Array<[number, number]> = [];
  let sum = 0;
  let commands = 0;
  const commandStarts: AwfRun['commandStarts'] = [];
  for (const { t, text } of lines) {
    // --verbose numbers each command: `$ [n] command`, then `[n] exit CODE, MS ms` (a colon when output follows).
    const started = /^\$ \[\d+\] (.*)$/.exec(text);
    if (started) {
      commands++;
      commandStarts.push({ t: Math.round(t), command: started[1]! });
    }
    const m = /^\[\d+\] exit [^,]+, (\d+) ms(?: \(run together: [^)]*\))?:?$/.exec(text);
    if (m) {
      const ms = Number(m[1]);
      sum += ms;
      intervals.push([t - ms, t]);
    }
  }
  const first = lines.find((l) => l.text.trim() !== '');
  const connectStart = lines.find((l) => /^\S+ Connect to /.test(l.text) && !l.text.startsWith('✔'));
  const connectEnd = lines.find((l) => /^✔ Connect to /.test(l.text));
  return {
    wallMs: timed.wallMs,
    exitCode: timed.code,
    outcome: report.outcome ?? 'unknown',
    commands,
    remoteBusyMs: unionLength(intervals),
    remoteSumMs: sum,
    startupMs: first?.t ?? null,
    connectMs: connectStart && connectEnd ? connectEnd.t - connectStart.t : null,
    steps: (report.steps ?? []).map((s) => ({ id: s.id, status: s.status, durationMs: s.durationMs })),
    commandStarts,
    lastCommandEnd: Math.round(Math.max(0, ...intervals.map((i) => i[1]))),
    stderrTail: timed.stderr.replace(ANSI, '').trimEnd().split('\n').slice(-8).join('\n'),
  };
}

export async function runCli(target: Target, settleSeconds: number, verbose: boolean, extra: readonly string[] = []): Promise<AwfRun> {
  const timed = await spawnTimed(process.execPath, [CLI, ...cliArgs(target, settleSeconds, verbose), ...extra], { env: cleanEnv({ NO_COLOR: '1' }), timeoutMs: 120_000 });
  return analyse(timed);
}

export function expectOutcome(run: AwfRun, outcome: string, what: string, exitCode = 0): void {
  if (run.outcome !== outcome || run.exitCode !== exitCode) throw new Error(`${what}: expected ${outcome} (exit ${exitCode}), got ${run.outcome} (exit ${run.exitCode}); its stderr ended:\n${run.stderrTail}`);
}

/** A short name for a remote command: its verb without the `cd -- dir &&` prefix and long arguments. */
export function shortCommand(command: string): string {
  const body = command.replace(/^cd -- \S+ && /, '');
  const compose = /^docker compose (?:--profile \S+ )*(\S+)(?: (-T \S+ \S+|\S+))?/.exec(body);
  if (compose) return `compose ${compose[1]}${compose[1] === 'exec' && compose[2] ? ` ${compose[2].replace(/^-T \S+ /, '')}` : ''}`;
  if (/journal\.jsonl/.test(body) && /printf/.test(body)) return 'journal append';
  if (/journal\.jsonl/.test(body)) return 'journal read';
  if (/\/lock/.test(body)) return 'lock';
  return body.split(/\s+/).slice(0, 2).join(' ').slice(0, 24);
}

export interface Wave {
  /** ms after spawn when the wave's first command was announced */
  t: number;
  commands: string[];
}

/** Commands announced within 15 ms of each other run as one wave of concurrent channels. */
export function wavesOf(run: AwfRun): Wave[] {
  const waves: Wave[] = [];
  for (const { t, command } of run.commandStarts) {
    const last = waves.at(-1);
    if (last && t - last.t <= 15) last.commands.push(shortCommand(command));
    else waves.push({ t, commands: [shortCommand(command)] });
  }
  return waves;
}
