// Runs the engine against a fake host over real SSH, silently, and snapshots the host for assertions.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ocapistaineWsFix from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { optionsForFakeHost } from '../../src/cli/demo.js';
import type { InterruptState } from '../../src/core/session.js';
import type { RunOptions } from '../../src/core/options.js';
import { run, type RunIO } from '../../src/core/run.js';
import type { Runbook } from '../../src/core/types.js';
import type { FakeHost } from '../../src/fake-host/host.js';
import type { RunReport } from '../../src/core/report.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { runOptions } from './context.js';
import { assertReportMatchesSchema } from './report-schema.js';

export interface FakeRun {
  report: RunReport;
  output: string;
}

/** One run of the real core over real SSH against the fake host (the ws-fix runbook unless another is given). */
export async function runAgainst(host: FakeHost, overrides: Partial<RunOptions> & { dir?: string; service?: string } = {}, io: Partial<RunIO> = {}, runbook: Runbook = ocapistaineWsFix): Promise<FakeRun> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const interrupt: InterruptState = { signal: null };
  // --dir and --service are the ws-fix runbook's parameters; other runbooks take theirs in `params`.
  const { dir, service, ...rest } = overrides;
  const base = runOptions({ settleMs: 400, startTimeoutMs: 10_000, ...rest });
  const named = { ...(dir !== undefined ? { dir } : {}), ...(service !== undefined ? { service } : {}) };
  const options = optionsForFakeHost({ ...base, params: { ...base.params, ...named } }, host);
  const report = await run(options, runbook, {
    renderer: 'silent',
    output: output as unknown as NodeJS.WriteStream,
    connect: (o) => connectSsh({ ...o, env: {} }),
    interrupt,
    ...io,
  });
  assertReportMatchesSchema(report);
  return { report, output: Buffer.concat(chunks).toString('utf8') };
}

/** Every file of the host's project directory, by relative path, as bytes. */
export async function snapshotFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const path = join(relative, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.set(path, await readFile(join(dir, path)));
    }
  };
  await walk('');
  return files;
}

/** The remote commands that could change the project or the container (the tool's own lock and journal aside). */
export function changingCommands(commands: readonly string[]): string[] {
  return commands.filter((c) => !c.includes('.apply-ws-fix/') && /\b(compose (build|up|restart)|mv|ln|cp|rm)\b|cat > /.test(c));
}

/** The host's state directory for its project, named as the host names it: base name and cksum of the real path. */
export function stateDirOf(host: FakeHost, projectDir = host.projectDir): string {
  const real = realpathSync(projectDir);
  const sum = execFileSync('sh', ['-c', 'printf %s "$1" | cksum', 'sh', real]).toString().split(' ')[0]!;
  return join(host.home, '.apply-ws-fix', `${real.slice(real.lastIndexOf('/') + 1)}-${sum}`);
}
