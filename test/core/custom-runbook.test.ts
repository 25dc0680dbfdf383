// A runbook declared here, not under runbooks/, with a step kind of its own and its own undo: the core runs it end to
// end against the fake host (apply, a failed check that unwinds it, --rollback from the journal alone).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepError, defineRunbook, defineStep, param, shellJoin, RemotePath, succeeded, firstLine, type Fact, type Step } from '../../src/index.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { runAgainst } from '../helpers/fake-run.js';

// The step kind: a line appended to a file. Its undo record is the file's length before, so the undo truncates back.
function appendLine(options: { file: string; line: string }): Step {
  const path = new RemotePath(options.file);
  const size: Fact<number> = { id: `size:${options.file}`, command: `wc -c < ${path.toShell()}`, parse: (r) => Number(r.stdout.toString().trim()) };
  return defineStep<{ line: string }, { file: string; sizeBefore: number }>({
    id: 'append',
    title: `Append a line to ${options.file}`,
    kind: 'append-line',
    facts: [size],
    plan() {
      return { kind: 'change', summary: `append "${options.line}"`, commands: [`printf '%s\\n' ${shellJoin([options.line])} >> ${path.toShell()}`], data: { line: options.line } };
    },
    async apply(ctx, plan) {
      await ctx.record({ file: options.file, sizeBefore: ctx.fact(size) });
      const result = await ctx.exec(plan.commands[0]!);
      if (!succeeded(result)) throw new StepError('append', `could not append: ${firstLine(result)}`);
      return `appended "${plan.data.line}"`;
    },
    undo: {
      id: 'truncate',
      title: `Cut ${options.file} back to its length before`,
      order: 'restore',
      async run(ctx, record) {
        const result = await ctx.exec(`truncate -s ${record.sizeBefore} ${new RemotePath(record.file).toShell()}`);
        if (!succeeded(result)) throw new StepError('rollback', firstLine(result));
        return `${record.file} is ${record.sizeBefore} bytes again`;
      },
      manual: (record) => (record ? [`truncate -s ${record.sizeBefore} ${new RemotePath(record.file).toShell()}`] : []),
    },
  });
}

let checkPasses = true;
const notesRunbook = defineRunbook({
  id: 'test-notes',
  title: 'Append a note',
  description: 'Appends a line to a notes file; a check can be made to fail.',
  connection: { host: 'localhost', port: 22, user: 'jnxmas' },
  params: { dir: param.path({ default: '~/vaettir', description: 'the project' }), note: param.string({ description: 'the line', required: true }) },
  project: (p) => p.dir,
  apply: (p) => ({
    steps: [appendLine({ file: `${p.dir}/notes.txt`, line: p.note })],
    checks: [{ id: 'toggle', title: 'The test says yes', run: async () => { if (!checkPasses) throw new StepError('toggle', 'the test says no'); return 'yes'; } }],
  }),
});

let host: FakeHost;
const notes = () => readFile(join(host.projectDir, 'notes.txt'), 'utf8');
beforeEach(async () => {
  host = await startFakeHost();
  await writeFile(join(host.projectDir, 'notes.txt'), 'first\n');
  checkPasses = true;
});
afterEach(async () => {
  await host.close();
});

describe('a runbook declared outside runbooks/', () => {
  it('applies, journals its own undo record, and a failed check unwinds it with its own undo', async () => {
    const applied = await runAgainst(host, { params: { dir: '~/vaettir', note: 'second' } }, {}, notesRunbook);
    expect(applied.report).toMatchObject({ runbook: 'test-notes', outcome: 'applied', exitCode: 0, params: { note: 'second' } });
    expect(await notes()).toBe('first\nsecond\n');

    checkPasses = false;
    const failed = await runAgainst(host, { params: { dir: '~/vaettir', note: 'third' } }, {}, notesRunbook);
    expect(failed.report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'toggle' }, rollback: { restored: true, actions: [{ id: 'truncate', status: 'done' }] } });
    expect(await notes()).toBe('first\nsecond\n');
  });

  it('--rollback works from the journal alone: it undoes the last applied run with that run\'s records', async () => {
    await runAgainst(host, { params: { dir: '~/vaettir', note: 'second' } }, {}, notesRunbook);
    const dry = await runAgainst(host, { action: 'rollback', dryRun: true, params: { dir: '~/vaettir', note: 'unused' } }, {}, notesRunbook);
    expect(dry.report.steps).toEqual([expect.objectContaining({ id: 'truncate', status: 'would-change' })]);
    const back = await runAgainst(host, { action: 'rollback', params: { dir: '~/vaettir', note: 'unused' } }, {}, notesRunbook);
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(await notes()).toBe('first\n');
    // Rolled back: there is nothing left to roll back.
    const again = await runAgainst(host, { action: 'rollback', params: { dir: '~/vaettir', note: 'unused' } }, {}, notesRunbook);
    expect(again.report).toMatchObject({ exitCode: 0, outcome: 'nothing-to-roll-back' });
    expect(await notes()).toBe('first\n');
  });

  it('when the undo cannot run, exit 2 gives the step kind\'s own manual commands', async () => {
    checkPasses = false;
    const failing = defineRunbook({ ...notesRunbook, id: 'test-notes-broken-undo', apply: (p) => {
      const spec = notesRunbook.apply(p);
      const step = spec.steps[0]!;
      return { ...spec, steps: [{ ...step, undo: { ...step.undo!, run: async () => { throw new StepError('rollback', 'cannot truncate'); } } }] };
    } });
    const { report } = await runAgainst(host, { params: { dir: '~/vaettir', note: 'second' } }, {}, failing);
    expect(report).toMatchObject({ outcome: 'failed-not-restored', exitCode: 2 });
    expect(report.recovery?.[1]).toBe('truncate -s 6 "$HOME"/vaettir/notes.txt');
  });
});
