// `apply-ws-fix explain`: the manual procedure of a runbook, as Markdown, generated from the same plan data that runs:
// each step's commands exactly as the tool sends them (Step.plan), the checks and what they expect, and the undo
// commands (Undo.manual). With a host, the facts are read first (read-only) and the plan is the one for that host now;
// without one, each step says when it runs, since what it runs depends on what the host holds.
import { sha256 } from '../lib/checksum.js';
import { RemotePath, shellJoin } from '../shell/quote.js';
import type { Transport } from '../transport/transport.js';
import { gatherFacts } from './facts.js';
import { journalFact } from './host-journal.js';
import type { RunOptions } from './options.js';
import { printableParams, secretValues } from './params.js';
import { Session, type InterruptState } from './session.js';
import type { Check, Fact, PlanContext, Runbook, Step, StepPlan } from './types.js';
import { stepIndex, undoActions } from './unwind.js';

export interface Planned {
  step: Step;
  plan: StepPlan;
}

/** The plan for one host as it is now. */
export interface HostPlan {
  label: string;
  readAt: string;
  facts: string | undefined;
  steps: Planned[];
  after: Planned[];
}

/** Where a command that reads stdin gets it from when its bytes hold secrets: the person writes this file first. */
export const STDIN_FILE = '"$HOME"/apply-ws-fix.stdin';
const EOF = 'APPLY_WS_FIX_EOF';

/** Reads the host (the facts only: read-only, no lock) and plans every step of the apply for it. */
export async function planForHost(options: RunOptions, runbook: Runbook, io: { connect(options: RunOptions): Promise<Transport>; interrupt: InterruptState }): Promise<HostPlan> {
  const { params } = options;
  const transport = await io.connect(options);
  try {
    const session = new Session({ options, transport, interrupt: io.interrupt, printable: runbook.printable ?? [], secrets: secretValues(runbook, params) });
    const apply = runbook.apply(params);
    const journal = journalFact(new RemotePath(runbook.project(params)), runbook.legacyStateDirs?.(params) ?? []);
    const steps = [...apply.steps, ...(apply.after ?? [])];
    const facts: Fact<unknown>[] = [...(runbook.facts?.(params, 'apply') ?? []), journal, ...steps.flatMap((s) => s.facts ?? []), ...apply.checks.flatMap((c) => c.facts ?? [])];
    const store = await gatherFacts(session.execAll, facts);
    const plans = new Map<string, StepPlan>();
    const ctx: PlanContext = {
      params,
      options,
      runId: session.runId,
      label: session.label,
      fact: (fact) => store.get(fact),
      history: store.get(journal).events as PlanContext['history'],
      planOf: (id) => plans.get(id),
    };
    const planOne = (step: Step): Planned => {
      const plan = step.plan(ctx);
      plans.set(step.id, plan);
      return { step, plan };
    };
    const planned = apply.steps.map(planOne);
    const after = (apply.after ?? []).map(planOne);
    return { label: session.label, readAt: new Date().toISOString(), facts: runbook.describeFacts?.(params, (fact) => store.get(fact), 'apply'), steps: planned, after };
  } finally {
    await transport.close().catch(() => {});
  }
}

const fence = (lang: string, text: string): string => `\`\`\`${lang}\n${text.replace(/\n$/, '')}\n\`\`\``;

// A command with its stdin attached: a quoted here-document of the bytes (base64 when they are not plain text),
// or, for bytes that hold secrets, a file the person writes first.
function withStdin(command: string, stdin: NonNullable<Extract<StepPlan, { kind: 'change' }>['stdin']>): { note: string; text: string } {
  const checksum = sha256(stdin.bytes);
  if (stdin.sensitive) {
    return {
      note:
        `It reads ${stdin.what} on stdin (${stdin.bytes.length} bytes, sha256 \`${checksum}\`). That file holds secrets, so it is not printed here: ` +
        `write it first to \`~/apply-ws-fix.stdin\` (\`umask 077\`; the current file with the change the diff shows), check it with \`sha256sum\`, then:`,
      text: `{ ${command}; } < ${STDIN_FILE}\nrm -f -- ${STDIN_FILE}`,
    };
  }
  const text = stdin.bytes.toString('utf8');
  const plain = Buffer.from(text, 'utf8').equals(stdin.bytes) && text.endsWith('\n') && !text.split('\n').includes(EOF) && !text.includes('\r');
  const note = `It reads ${stdin.what} on stdin (${stdin.bytes.length} bytes, sha256 \`${checksum}\`), given here${plain ? '' : ' in base64'}:`;
  if (plain) return { note, text: `{ ${command}; } <<'${EOF}'\n${text}${EOF}` };
  const base64 = stdin.bytes.toString('base64').replace(/.{1,76}/g, '$&\n');
  return { note, text: `base64 -d <<'${EOF}' | { ${command}; }\n${base64}${EOF}` };
}

function stepSection(index: number, step: Step, plan: StepPlan | undefined): string[] {
  const lines = [`### ${index}. ${step.title}`, ''];
  const when = step.condition ? ` Runs ${step.condition.replace(/^only /, 'only ')}.` : '';
  lines.push(`Kind \`${step.kind}\`.${when}`, '');
  if (plan === undefined) {
    lines.push('Its commands depend on what the host holds: `apply-ws-fix explain --host HOST` prints them for that host.', '');
    return lines;
  }
  if (plan.kind === 'noop') {
    lines.push(`**Skip it on this host:** ${plan.reason}.`, '');
    return lines;
  }
  lines.push(`**Do it:** ${plan.summary}.`, '');
  if (plan.diff !== undefined) lines.push(fence('diff', plan.diff), '');
  const blocks: string[] = [];
  plan.commands.forEach((command, i) => {
    if (plan.stdin?.command === i) {
      if (blocks.length > 0) lines.push(fence('sh', blocks.splice(0).join('\n')), '');
      const { note, text } = withStdin(command, plan.stdin);
      lines.push(note, '', fence('sh', text), '');
    } else blocks.push(command);
  });
  if (blocks.length > 0) lines.push(fence('sh', blocks.join('\n')), '');
  if (plan.commands.length === 0) lines.push('(The tool does this itself; there is no command to type.)', '');
  return lines;
}

function checkLines(checks: readonly Check[]): string[] {
  return checks.map((check, i) => `${i + 1}. **${check.title}**${check.expects ? `: ${check.expects}` : ''}.`);
}

/** The manual procedure as Markdown; `host` is the plan for one host, or undefined for the runbook in general. */
export function explainMarkdown(runbook: Runbook, options: RunOptions, host?: HostPlan): string {
  const { params } = options;
  const apply = runbook.apply(params);
  const shown = printableParams(runbook, params);
  const planOf = (step: Step): StepPlan | undefined => [...(host?.steps ?? []), ...(host?.after ?? [])].find((p) => p.step.id === step.id)?.plan;
  const lines: string[] = [`# ${runbook.title}`, '', runbook.description, ''];
  lines.push(
    host
      ? `Generated by \`apply-ws-fix explain\` from the runbook \`${runbook.id}\`, for ${host.label} as it was read at ${host.readAt}${host.facts ? ` (${host.facts})` : ''}. ` +
          'The commands are the ones the tool would send, quoted as it quotes them; a step the host does not need says so.'
      : `Generated by \`apply-ws-fix explain\` from the runbook \`${runbook.id}\`. What each step runs depends on what the host holds, so each says ` +
          'when it runs; `apply-ws-fix explain --host HOST` reads the host first and prints the exact commands for it.',
    '',
  );
  lines.push('## Parameters', '', '| name | value |', '| --- | --- |', ...Object.entries(runbook.params).map(([name]) => `| ${name} | ${shown[name] === undefined ? '(not given)' : `\`${String(shown[name])}\``} |`), '');
  lines.push(
    '## Before you start',
    '',
    `- Connect: \`ssh -p ${options.port} ${shellJoin([`${options.user}@${options.host}`])}\`. Every command below runs there, in bash, from the home directory.`,
    `- The tool takes a lock on the host and journals each change before it makes it; by hand, make sure nobody else changes ${runbook.project(params)} meanwhile, and note what you did.`,
    '- Run the steps in order, and stop at the first command that fails: then roll back (below).',
    '',
  );
  // What the plan is made from: the read-only probes, in the order the tool checks them (the first failure stops it).
  const reads = [...(runbook.facts?.(params, 'apply') ?? []), ...apply.steps.flatMap((s) => s.facts ?? []), ...apply.checks.flatMap((c) => c.facts ?? [])];
  const unique = [...new Map(reads.map((fact) => [fact.id, fact.command])).values()];
  if (unique.length > 0) {
    lines.push('## What the tool reads first', '', `Read-only; ${host ? 'the plan below is made from their answers' : 'each step below decides from their answers whether it runs'}:`, '', fence('text', unique.join('\n')), '');
  }
  lines.push('## Procedure', '');
  apply.steps.forEach((step, i) => lines.push(...stepSection(i + 1, step, host ? planOf(step) : undefined)));
  lines.push('## Verify', '', 'Then check, in this order (the tool does it from this machine and from the host):', '', ...checkLines(apply.checks), '');
  if ((apply.after ?? []).length > 0) {
    lines.push('## Once every check passed', '');
    (apply.after ?? []).forEach((step, i) => lines.push(...stepSection(i + 1, step, host ? planOf(step) : undefined).map((l) => l.replace(/^### /, '#### '))));
  }
  lines.push('## Roll back', '');
  const index = stepIndex(apply.steps, apply.after ?? []);
  if (host) {
    const entries = host.steps.flatMap(({ step, plan }) => (plan.kind === 'change' && step.undo !== undefined ? [{ step: step.id, record: plan.record }] : []));
    const { restores, rederives } = undoActions(index, entries);
    const commands = [...restores, ...rederives].flatMap((a) => a.undo.manual(a.record, params));
    if (commands.length === 0) lines.push('Nothing in this procedure changes the host, so there is nothing to undo.', '');
    else lines.push('If a step or a check fails once something changed, put the host back: the files first, then what is built from them.', '', fence('sh', commands.join('\n')), '');
  } else {
    lines.push('The tool undoes what its journal says it changed, the files first (newest first), then what is built from them:', '');
    for (const step of apply.steps) {
      if (step.undo === undefined) continue;
      const manual = step.undo.manual(undefined, params);
      lines.push(`- ${step.undo.title} (undoes "${step.title}")${manual.length > 0 ? `: \`${manual.join('` then `')}\`` : ': the exact command names the backup this run made (explain --host shows it)'}`);
    }
    lines.push('', `\`apply-ws-fix --runbook ${runbook.id} --rollback\` does it from the journal on the host.`, '');
  }
  let text = `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
  for (const secret of secretValues(runbook, params)) text = text.split(secret).join('<secret>');
  return text;
}
