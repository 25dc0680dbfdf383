// Docker Compose step kinds and facts: build, validate in a throwaway container, up; the container's state, logs,
// files and environment. Built from src/compose/commands.ts, so every compose command line is spelled once.
import { setTimeout as sleep } from 'node:timers/promises';
import { composeCommands, type ComposeTarget } from '../compose/commands.js';
import { parsePsJson, type ContainerStatus } from '../compose/parse.js';
import { StartError, StepError } from '../errors.js';
import { maskSecrets } from '../shell/mask.js';
import { firstLine, succeeded, type ExecResult } from '../transport/transport.js';
import type { ExecContext, Fact, PlanContext, Step, StepPlan } from '../core/types.js';

// ---- Facts ------------------------------------------------------------------------------------------------

/** The service's container from `ps`; undefined when it has none. */
export function containerOf(result: ExecResult, service: string): ContainerStatus | undefined {
  if (!succeeded(result)) return undefined;
  const containers = parsePsJson(result.stdout.toString('utf8'));
  return containers.find((c) => c.service === service) ?? containers[0];
}

export function containerFact(target: ComposeTarget): Fact<ContainerStatus | undefined> {
  return { id: `compose:ps:${target.dir.path}:${target.service}`, command: composeCommands.ps(target), parse: (result) => containerOf(result, target.service) };
}

/** The service's last log lines, stdout and stderr (Compose puts the container's stderr on stderr). */
export function logsFact(target: ComposeTarget, tail: number): Fact<string | undefined> {
  return {
    id: `compose:logs:${target.dir.path}:${target.service}:${tail}`,
    command: composeCommands.logs(target, tail),
    parse: (result) => (succeeded(result) ? `${result.stdout.toString('utf8')}\n${result.stderr.toString('utf8')}` : undefined),
  };
}

/** `docker compose version`: Compose v2 must work, or nothing can. */
export function composeVersionFact(target: ComposeTarget, user: string): Fact<string> {
  return {
    id: `compose:version:${target.dir.path}`,
    command: composeCommands.version(target),
    parse(result) {
      if (!succeeded(result)) throw new StartError(`docker compose does not work on the host: ${firstLine(result)}`, 'precondition-compose', `Check that Docker Compose v2 is installed and that ${user} may use docker (the docker group).`);
      return result.stdout.toString('utf8').trim();
    },
  };
}

/** The compose project's services (with the target's profiles active); the target's service must be one. */
export function composeServicesFact(target: ComposeTarget, remedy = 'Check --service.'): Fact<string[]> {
  return {
    id: `compose:services:${target.dir.path}:${target.profiles.join(',')}`,
    command: composeCommands.services(target),
    parse(result) {
      if (!succeeded(result)) throw new StartError(`docker compose config --services failed in ${target.dir.path}: ${firstLine(result)}`, 'precondition-compose', 'Check the compose file in --dir.');
      const services = result.stdout.toString('utf8').split('\n').map((s) => s.trim()).filter(Boolean);
      if (!services.includes(target.service)) throw new StartError(`service ${target.service} is not in the compose project (services: ${services.join(', ') || 'none'})`, 'precondition-service', remedy);
      return services;
    },
  };
}

/** What a command run in the container gave; `missing` when the image lacks the command (exit 126/127). */
export type InContainer = { ok: true; stdout: Buffer } | { ok: false; missing: boolean; why: string };

function inContainer(result: ExecResult, argv: readonly string[]): InContainer {
  if (succeeded(result)) return { ok: true, stdout: result.stdout };
  const missing = result.code === 126 || result.code === 127 || /executable file not found|applet not found|command not found|no such file or directory: unknown/i.test(result.stderr.toString('utf8'));
  return { ok: false, missing, why: missing ? `the container has no ${argv[0]} (exit ${result.code}: ${firstLine(result)})` : firstLine(result) };
}

/** Runs a command in the running container, telling a missing command from a failed one. */
export async function execInContainer(ctx: ExecContext, target: ComposeTarget, argv: readonly string[]): Promise<InContainer> {
  return inContainer(await ctx.exec(composeCommands.exec(target, argv)), argv);
}

/** A file's bytes in the running container, read with `cat`. */
export function containerFileFact(target: ComposeTarget, path: string): Fact<InContainer> {
  return { id: `compose:cat:${target.service}:${path}`, command: composeCommands.cat(target, path), parse: (result) => inContainer(result, ['cat', path]) };
}

/** One variable of the running container's environment, read with `printenv NAME` so no other value crosses the wire. */
export function containerEnvFact(target: ComposeTarget, name: string): Fact<InContainer> {
  return { id: `compose:printenv:${target.service}:${name}`, command: composeCommands.printenv(target, name), parse: (result) => inContainer(result, ['printenv', name]) };
}

// ---- Step kinds -------------------------------------------------------------------------------------------

/** Whether a derived step runs: a decision from the facts and the earlier plans, with its reason. */
export type When = (ctx: PlanContext) => { run: true; why?: string; forceRecreate?: boolean } | { run: false; reason: string };

/** The last lines of a failed compose command, secrets masked, for the report. */
export function tail(result: ExecResult, printable: readonly string[], lines = 6): string {
  const text = `${result.stderr.toString('utf8')}\n${result.stdout.toString('utf8')}`;
  const kept = text.split('\n').map((line) => line.trimEnd()).filter(Boolean).slice(-lines);
  return maskSecrets(kept.join('\n'), printable);
}

export interface ComposeStepOptions {
  target: ComposeTarget;
  id?: string;
  title?: string;
  when: When;
  /** NAME=value pairs shown unmasked in error output. */
  printable?: readonly string[];
  condition?: string;
}

const decide = (when: When, ctx: PlanContext, what: string, commands: string[]): StepPlan<{ forceRecreate: boolean }> => {
  const decision = when(ctx);
  if (!decision.run) return { kind: 'noop', reason: decision.reason };
  return { kind: 'change', summary: decision.why ? `${decision.why}: ${what}` : what, commands, record: {}, data: { forceRecreate: decision.forceRecreate ?? false } };
};

/** `docker compose build`, journaled first; a build that fails leaves the old image, so its record is dropped then. */
export async function buildImage(ctx: ExecContext, target: ComposeTarget, stepId: string, printable: readonly string[]): Promise<string> {
  // A build takes minutes: its elapsed time and the last line it printed, as it streams.
  const started = Date.now();
  let lastLine = '';
  const show = (): void => ctx.progress(`${Math.round((Date.now() - started) / 1000)} s: ${lastLine || 'building…'}`);
  const timer = setInterval(show, 1_000);
  let build: ExecResult;
  try {
    build = await ctx.exec(composeCommands.build(target), {
      timeoutMs: ctx.options.buildTimeoutMs,
      onOutput: (chunk) => {
        // eslint-disable-next-line no-control-regex
        const lines = chunk.toString('utf8').replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean);
        if (lines.length > 0) lastLine = lines.at(-1)!.slice(0, 120);
        show();
      },
    });
  } finally {
    clearInterval(timer);
  }
  if (!succeeded(build)) throw new StepError(stepId, `docker compose build ${target.service} failed:\n${tail(build, printable)}`, 'Read the build output above; the running container was not touched.');
  return 'image rebuilt';
}

export function composeBuild(options: ComposeStepOptions & { servesNow?: (ctx: PlanContext) => boolean }): Step {
  const { target } = options;
  const id = options.id ?? 'build';
  const printable = options.printable ?? [];
  const step: Step<{ forceRecreate: boolean }, Record<string, never>> = {
    id,
    title: options.title ?? 'Rebuild the image',
    kind: 'compose-build',
    ...(options.condition ? { condition: options.condition } : {}),
    plan: (ctx) => decide(options.when, ctx, `docker compose build ${target.service}`, [composeCommands.build(target)]),
    async apply(ctx) {
      await ctx.record({});
      try {
        return await buildImage(ctx, target, id, printable);
      } catch (error) {
        if (error instanceof StepError) ctx.forget();
        throw error;
      }
    },
    undo: {
      id: 'rebuild-image',
      title: 'Rebuild the image from the original files',
      order: 'rederive',
      run: async (ctx) => {
        const build = await ctx.exec(composeCommands.build(target), { timeoutMs: ctx.options.buildTimeoutMs });
        if (!succeeded(build)) throw new StepError('rollback', `docker compose build failed:\n${tail(build, printable)}`);
        return 'image rebuilt';
      },
      manual: () => [composeCommands.build(target)],
      plan: (ctx, _record, restoring) =>
        !restoring && options.servesNow?.(ctx) ? { kind: 'noop', reason: 'the running container already serves the files as they are' } : { kind: 'change', summary: `docker compose build ${target.service}`, commands: [composeCommands.build(target)], data: null },
    },
  };
  return step as unknown as Step;
}

/** A command in a throwaway container of the image just built (a config test): a rejected image never goes live. */
export function composeValidate(options: ComposeStepOptions & { argv: readonly string[]; rejected: string; remedy: string; okLine?: (output: string) => string | undefined }): Step {
  const { target } = options;
  const id = options.id ?? 'validate';
  const command = composeCommands.run(target, options.argv);
  const step: Step<{ forceRecreate: boolean }> = {
    id,
    title: options.title ?? `Test the new image with ${options.argv.join(' ')}`,
    kind: 'compose-validate',
    ...(options.condition ? { condition: options.condition } : {}),
    plan: (ctx) => decide(options.when, ctx, `${options.argv.join(' ')} in a throwaway container of the new image`, [command]),
    async apply(ctx) {
      const result = await ctx.exec(command);
      const said = tail(result, options.printable ?? []);
      if (!succeeded(result)) throw new StepError(id, `${options.rejected}:\n${said}`, options.remedy);
      return options.okLine?.(said) ?? `${options.argv.join(' ')} passed`;
    },
  };
  return step as unknown as Step;
}

const POLL_MS = 500;
const FAILED_STATES = new Set(['restarting', 'exited', 'dead']);
/** The line that ends each sample of the host-side poll, with ps's exit status. */
const SAMPLE_END = '@apply-ws-fix-ps-sample';
const SAMPLE_LINE = new RegExp(`^${SAMPLE_END} (\\d+)$`, 'm');
/** Samples the host-side poll takes past the settle time before the client polls on its own (interruptibly). */
const SPARE_SAMPLES = 4;

/**
 * One command that polls `ps` on the host, so the settle wait costs one round trip, not one per poll. It stops by
 * itself once the container has run for `settleMs` (timed with /proc/uptime, the last pause cut to fit; on a host
 * without it, after `need` samples 0.5 s apart), once it fails, or after `max` samples. The client judges every
 * sample itself, by arrival time, as if it had polled.
 */
export function hostPollCommand(target: ComposeTarget, settleMs: number, need: number, max: number): string {
  const ps = composeCommands.ps(target);
  // centiseconds, with 50 ms to spare so the client, timing the arrivals, sees the whole settle time too
  const settle = settleMs > 0 ? Math.ceil(settleMs / 10) + 5 : 0;
  return [
    `i=0; n=0; r=; while :; do o=$(${ps} 2>/dev/null); c=$?; printf '%s\\n${SAMPLE_END} %s\\n' "$o" "$c"; i=$((i+1)); w=50`,
    `case $c:$o in 0:*'"State":"running"'*) n=$((n+1)); if read -r u _ </proc/uptime 2>/dev/null; then t=$(( \${u%.*} * 100 + 1\${u#*.} - 100 )); [ -n "$r" ] || r=$t; e=$((t - r)); [ "$e" -ge ${settle} ] && break; w=$((${settle} - e)); [ "$w" -gt 50 ] && w=50; else [ "$n" -ge ${need} ] && break; fi;; ` +
      `0:*'"State":"restarting"'*|0:*'"State":"exited"'*|0:*'"State":"dead"'*) break;; *) n=0; r=;; esac`,
    `[ "$i" -ge ${max} ] && break; sleep "$((w / 100)).$((w / 10 % 10))$((w % 10))" 2>/dev/null || sleep 1; done`,
  ].join('; ');
}

/** The samples in a host-side poll's output so far: each one's ps result, and the rest not yet ended. */
export function pollSamples(text: string): { samples: ExecResult[]; rest: string } {
  const samples: ExecResult[] = [];
  let rest = text;
  for (let m = SAMPLE_LINE.exec(rest); m !== null; m = SAMPLE_LINE.exec(rest)) {
    const stdout = rest.slice(0, m.index);
    samples.push({ command: 'ps', stdout: Buffer.from(stdout), stderr: Buffer.alloc(0), code: Number(m[1]), signal: null, durationMs: 0 });
    rest = rest.slice(m.index + m[0].length + 1);
  }
  return { samples, rest };
}

type Seen = { settled: ContainerStatus } | { failed: StepError } | { progress: string };

/**
 * Polls `docker compose ps` until the container has been running for `settleMs`, failing at once on a crash loop or
 * exit, and after `timeoutMs` at most. Returns the last status seen. The host polls first, in one command (one round
 * trip for the whole settle time); when that does not settle it, the client polls on, one `ps` at a time.
 */
export async function waitRunning(ctx: ExecContext, target: ComposeTarget, settleMs: number, timeoutMs: number, stepId = 'running'): Promise<ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  let runningSince: number | undefined;
  let last: ContainerStatus | undefined;
  const see = (result: ExecResult, now: number): Seen => {
    last = containerOf(result, target.service);
    if (last?.state === 'running') {
      runningSince ??= now;
      if (now - runningSince >= settleMs) return { settled: last };
      return { progress: `${last.status}; still running in ${Math.ceil((settleMs - (now - runningSince)) / 1000)} s counts as settled` };
    }
    runningSince = undefined;
    if (last !== undefined && FAILED_STATES.has(last.state)) {
      return { failed: new StepError(stepId, `${last.name} is not running: ${last.status}`, `Read the logs: docker compose logs ${target.service} --tail 100 (a config error shows as [emerg]).`) };
    }
    if (now >= deadline + settleMs) {
      return { failed: new StepError(stepId, last ? `${last.name} did not settle in ${Math.round(timeoutMs / 1000)} s: ${last.status}` : `no container for service ${target.service}`, 'Check docker compose ps and the logs on the host.') };
    }
    return { progress: last ? `${last.status}; waiting for it to run` : 'waiting for the container' };
  };
  const act = (seen: Seen): ContainerStatus | undefined => {
    if ('settled' in seen) return seen.settled;
    if ('failed' in seen) throw seen.failed;
    ctx.progress(seen.progress);
    return undefined;
  };

  // The host polls: each sample judged as it arrives (for the progress), the first verdict kept.
  const need = Math.ceil(settleMs / POLL_MS) + 1;
  const max = Math.max(1, Math.min(Math.ceil(timeoutMs / POLL_MS) + 1, need + SPARE_SAMPLES));
  let text = '';
  let verdict: Seen | undefined;
  const polled = await ctx.exec(hostPollCommand(target, settleMs, need, max), {
    timeoutMs: ctx.options.commandTimeoutMs + max * POLL_MS,
    onOutput: (chunk) => {
      const { samples, rest } = pollSamples(text + chunk.toString('utf8'));
      text = rest;
      for (const sample of samples) {
        if (verdict !== undefined && !('progress' in verdict)) break;
        verdict = see(sample, Date.now());
        if ('progress' in verdict) ctx.progress(verdict.progress);
      }
    },
  });
  // No verdict back (a host whose shell the poll does not suit): the client polls from the start.
  let pause = 0;
  if (polled.code === 0 && verdict !== undefined) {
    const done = act(verdict);
    if (done !== undefined) return done;
    pause = POLL_MS;
  }
  for (;;) {
    if (pause > 0) await sleep(runningSince !== undefined ? Math.max(0, Math.min(pause, settleMs - (Date.now() - runningSince))) : pause);
    pause = POLL_MS;
    const done = act(see(await ctx.exec(composeCommands.ps(target)), Date.now()));
    if (done !== undefined) return done;
  }
}

/** `up -d`; the caller journals first: a failed or interrupted `up` may already have replaced the container. */
export async function upService(ctx: ExecContext, target: ComposeTarget, forceRecreate: boolean, stepId: string, printable: readonly string[]): Promise<string> {
  const up = await ctx.exec(composeCommands.up(target, forceRecreate));
  if (!succeeded(up)) {
    throw new StepError(stepId, `docker compose up -d ${forceRecreate ? '--force-recreate ' : ''}${target.service} failed:\n${tail(up, printable)}`, 'Read the daemon\'s error above (docker compose ps -a and docker compose logs show the container); the run rolls back to the previous state.');
  }
  const output = up.stderr.toString('utf8') + up.stdout.toString('utf8');
  return /Recreate|Started|Created/.test(output) ? 'container recreated' : 'compose left the container running as it was';
}

export interface ComposeUpOptions extends ComposeStepOptions {
  /** Whether the running container already serves the files as they are now (read live), for the undo. */
  servesNow?: (ctx: ExecContext) => Promise<boolean>;
  /** Whether it serves them as the facts show, for `--rollback` from the journal. */
  servedByFacts?: (ctx: PlanContext) => boolean;
  /** Build first, in the same step (a redeploy). */
  build?: boolean;
}

/** `docker compose up -d` of the service; its undo recreates the container from the restored files. */
export function composeUp(options: ComposeUpOptions): Step {
  const { target } = options;
  const id = options.id ?? 'deploy';
  const printable = options.printable ?? [];
  const profiles = target.profiles.map((p) => `--profile ${p} `).join('');
  const step: Step<{ forceRecreate: boolean }, Record<string, never>> = {
    id,
    title: options.title ?? 'Restart the service',
    kind: 'compose-up',
    ...(options.condition ? { condition: options.condition } : {}),
    plan(ctx) {
      const decision = options.when(ctx);
      if (!decision.run) return { kind: 'noop', reason: decision.reason };
      const force = decision.forceRecreate ?? false;
      const commands = [...(options.build ? [composeCommands.build(target)] : []), composeCommands.up(target, force)];
      const what = `${options.build ? `docker compose build ${target.service}, then ` : ''}docker compose ${profiles}up -d ${force ? '--force-recreate ' : ''}${target.service}`;
      return { kind: 'change', summary: decision.why ? `${decision.why}: ${what}` : what, commands, record: {}, data: { forceRecreate: force } };
    },
    async apply(ctx, plan) {
      await ctx.record({});
      if (options.build) {
        const built = await buildImage(ctx, target, id, printable);
        ctx.checkpoint();
        return `${built}, ${await upService(ctx, target, plan.data.forceRecreate, id, printable)}`;
      }
      return upService(ctx, target, plan.data.forceRecreate, id, printable);
    },
    undo: {
      id: 'recreate-container',
      title: 'Recreate the container with the original config',
      order: 'rederive',
      async run(ctx) {
        if (options.servesNow && (await options.servesNow(ctx))) {
          const seen = containerOf(await ctx.exec(composeCommands.ps(target)), target.service);
          return `${seen?.name ?? target.service} still runs the original config`;
        }
        const up = await ctx.exec(composeCommands.up(target, true));
        if (!succeeded(up)) throw new StepError('rollback', `docker compose up -d --force-recreate failed:\n${tail(up, printable)}`);
        const status = await waitRunning(ctx, target, ctx.options.settleMs, ctx.options.startTimeoutMs, 'rollback');
        if (options.servesNow && !(await options.servesNow(ctx))) throw new StepError('rollback', 'the recreated container does not run the original config');
        return `${status.name}: ${status.status}, original config`;
      },
      manual: () => [composeCommands.up(target, true), composeCommands.ps(target).replace(' --format json', '')],
      plan: (ctx, _record, restoring) =>
        !restoring && options.servedByFacts?.(ctx)
          ? { kind: 'noop', reason: 'the running container already serves the files as they are' }
          : { kind: 'change', summary: `docker compose ${profiles}up -d --force-recreate ${target.service}`, commands: [composeCommands.up(target, true)], data: null },
    },
  };
  return step as unknown as Step;
}
