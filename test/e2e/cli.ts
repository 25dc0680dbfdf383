// Runs the BUILT CLI (dist/src/cli.js) as a user would: a separate node process, no terminal, its own
// HOME (so the tester's ~/.ssh never takes part), the real test host's key and known_hosts.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { RunReport, StepStatus } from '../../src/core/report.js';
import type { RealHost } from './harness/real-host.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = join(HERE, '..', '..');
export const CLI_PATH = join(REPO, 'dist', 'src', 'cli.js');

// The JSON report of --json: the product's own type (the README documents it; test/cli checks the two agree).
export type { Outcome, StepStatus } from '../../src/core/report.js';
export type Report = RunReport;

export interface CliResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  ms: number;
  // Parsed from stdout when --json was given.
  report: Report | undefined;
}

// Why the suite cannot run the CLI, or undefined when dist/ is there. npm test builds before vitest.
export function cliMissing(): string | undefined {
  if (!existsSync(CLI_PATH)) return `${CLI_PATH} does not exist: build first (npm run build), or run npm test, which builds before vitest`;
  return undefined;
}

// A warning when a source file is newer than the build: the tests would run yesterday's CLI.
export function staleBuildWarning(): string | undefined {
  if (!existsSync(CLI_PATH)) return undefined;
  const built = statSync(CLI_PATH).mtimeMs;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const p = join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
    }, 0);
  const src = Math.max(newest(join(REPO, 'src')), newest(join(REPO, 'runbooks')));
  return src > built ? `dist/ is older than src/: the e2e tests run the last build (npm run build to refresh)` : undefined;
}

let emptyHome: string | undefined;
// An empty HOME for the CLI: no ~/.ssh/config, keys or agent of the person running the tests. One fixed
// directory, emptied when a test process first uses it (test workers are killed, so no exit hook runs).
function cliHome(): string {
  if (emptyHome === undefined) {
    const dir = join(tmpdir(), 'awf-e2e-cli-home');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    emptyHome = dir;
  }
  return emptyHome;
}

export type Flags = Partial<Record<'host' | 'port' | 'user' | 'identity' | 'known-hosts' | 'dir' | 'service' | 'url' | 'settle' | 'start-timeout' | 'connect-timeout', string>>;

// The flags that point the CLI at the test host, short timings; `flags` overrides any of them.
export function hostFlags(host: RealHost, flags: Flags = {}): string[] {
  const all: Required<Flags> = {
    host: '127.0.0.1',
    port: String(host.port),
    user: host.user,
    identity: host.privateKeyPath,
    'known-hosts': host.knownHostsPath,
    dir: '~/vaettir',
    service: 'ocapistaine',
    url: host.publicUrl,
    settle: '0.5',
    'start-timeout': '15',
    'connect-timeout': '5',
    ...flags,
  };
  return Object.entries(all).flatMap(([flag, value]) => [`--${flag}`, value]);
}

// Starts the CLI; the caller awaits it (or signals it first). stdin is closed: no terminal, no prompt.
export function spawnCli(args: readonly string[], o: { timeoutMs?: number } = {}) {
  return execa(process.execPath, [CLI_PATH, ...args], {
    reject: false,
    stdin: 'ignore',
    timeout: o.timeoutMs ?? 90_000,
    cwd: REPO,
    extendEnv: false,
    env: cliEnv(),
    stripFinalNewline: false,
  });
}

// The CLI's environment: PATH, an empty HOME, no ssh-agent, no CI flag.
export function cliEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cliHome(), LANG: 'C.UTF-8', TERM: 'dumb' };
}

// Every output the CLI printed in this test file, for the secret check.
export const allOutputs: string[] = [];

// Collects a finished run: exit code, streams, and the parsed JSON report when --json was given.
export async function finish(child: PromiseLike<{ exitCode?: number | undefined; signal?: string | undefined; stdout?: unknown; stderr?: unknown }>, args: readonly string[], started: number): Promise<CliResult> {
  const r = await child;
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  allOutputs.push(stdout, stderr);
  let report: Report | undefined;
  // A usage error (64) is refused before any run: no report, only the message on stderr.
  if (args.includes('--json') && !(r.exitCode === 64 && stdout === '')) {
    try {
      report = JSON.parse(stdout) as Report;
    } catch (error) {
      throw new Error(`--json did not print one JSON report on stdout (${(error as Error).message}):\n${stdout}\n--- stderr ---\n${stderr}`);
    }
  }
  return { exitCode: r.exitCode, signal: r.signal, stdout, stderr, ms: Date.now() - started, report };
}

// Runs the CLI to its end against the test host.
export async function runCli(args: readonly string[], o: { timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  return finish(spawnCli(args, o), args, started);
}

// A run's outcome in one line, for assertion messages.
export function explain(r: CliResult): string {
  const rep = r.report;
  const head = `exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ''} in ${r.ms} ms`;
  if (!rep) return `${head}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
  const steps = rep.steps.map((s) => `${s.id}:${s.status}`).join(' ');
  return `${head}, outcome ${rep.outcome}, steps ${steps}, error ${JSON.stringify(rep.error)}, rollback ${JSON.stringify(rep.rollback)}\n--- stderr ---\n${r.stderr}`;
}

// The status a report gives a step, or undefined when the step is not in it.
export function stepStatus(r: CliResult, id: string): StepStatus | undefined {
  return r.report?.steps.find((s) => s.id === id)?.status;
}

// The checks of an apply, in their order; every other step of an apply report is a change step.
export const APPLY_CHECKS = ['running', 'logs', 'rendered', 'endpoint'] as const;
// The change steps every apply has, in order (the CLI may add more between them, e.g. a separate build).
export const APPLY_CHANGES = ['backup', 'write-template', 'deploy'] as const;

// The change steps of a report (ids and statuses), in report order.
export function changeSteps(r: CliResult): { id: string; status: StepStatus; detail: string }[] {
  return (r.report?.steps ?? []).filter((s) => !(APPLY_CHECKS as readonly string[]).includes(s.id));
}

// An apply's report lists the known change steps in their order, then the four checks in theirs, one
// after another. The CLI may add steps of its own (a separate build, nginx -t, a git commit after the checks).
export function expectApplyShape(r: CliResult): void {
  const ids = (r.report?.steps ?? []).map((s) => s.id);
  const checksAt = ids.indexOf(APPLY_CHECKS[0]);
  expect(ids.slice(checksAt, checksAt + APPLY_CHECKS.length), explain(r)).toEqual([...APPLY_CHECKS]);
  expect(ids.slice(0, checksAt).filter((id) => (APPLY_CHANGES as readonly string[]).includes(id)), explain(r)).toEqual([...APPLY_CHANGES]);
}

// Steps the contract does not name (added by the CLI): each must be done, or skipped saying why.
export function expectExtraStepsAccounted(r: CliResult): void {
  const known: readonly string[] = [...APPLY_CHANGES, ...APPLY_CHECKS];
  for (const step of r.report?.steps ?? []) {
    if (known.includes(step.id)) continue;
    expect(['done', 'skipped', 'would-change'], `${step.id}: ${step.status}`).toContain(step.status);
    if (step.status === 'skipped') expect(step.detail, `${step.id} says why it was skipped`).not.toBe('');
  }
}
