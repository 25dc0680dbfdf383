// Where the retarget acts: the project's .env, the compose service, and what is read there before anything changes.
import { StartError, composeCommands, containerEnvFact, dotenvComposeProject, dotenvValue, firstLine, shellJoin, succeeded, type DotenvComposeProject, type ExecContext, type Fact, type PlanContext } from '../../src/index.js';
import { HEALTH, TARGET_VARIABLE } from './meta.js';

// The variable the compose service reads from .env, and the health path: defined in meta.ts, with what --help shows.
export { HEALTH, TARGET_VARIABLE };
export const STREAM = '/_stcore/stream';
/** `--profile` flags of `up`, as the operator types them. */
export const PROFILES = ['production', 'proxy'] as const;

export interface Params {
  dir: string;
  service: string;
  url: string;
  /** Absent on --rollback, which undoes from the journal's records. */
  'target-url'?: string;
}

export interface Host extends DotenvComposeProject {
  facts: DotenvComposeProject['facts'] & { containerTarget: ReturnType<typeof containerEnvFact> };
}

export function hostOf(p: Params): Host {
  const project = dotenvComposeProject(p, PROFILES, TARGET_VARIABLE);
  return { ...project, facts: { ...project.facts, containerTarget: containerEnvFact(project.target, TARGET_VARIABLE) } };
}

/**
 * The precondition: the new upstream answers its health URL from the host itself (where nginx will reach it from).
 * A dead tunnel stops the run before anything changes (exit 3).
 */
export function upstreamFact(url: string): Fact<string> {
  const health = `${url}${HEALTH}`;
  return {
    id: `upstream:${url}`,
    command: shellJoin(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '--', health]),
    parse(result) {
      const code = result.stdout.toString('utf8').trim();
      if (result.code === 127) throw new StartError(`cannot check that ${url} answers: the host has no curl`, 'precondition-upstream', 'Install curl on the host, or check the new URL by hand from there.');
      if (code === '200') return `${url} answers (GET ${HEALTH} 200 from the host)`;
      const said = code === '000' || code === '' ? firstLine(result) : `HTTP ${code}`;
      throw new StartError(`the new upstream ${url} does not answer from the host: GET ${HEALTH} gave ${said}`, 'precondition-upstream', 'Start the tunnel (or fix the URL), check it with curl from the host, then run again. Nothing was changed.');
    },
  };
}

const text = (read: { ok: true; stdout: Buffer } | { ok: false }): string | undefined => (read.ok ? read.stdout.toString('utf8').replace(/\n$/, '') : undefined);

/** Whether the running container has the value .env holds, as the facts show it. */
export function servedByFacts(host: Host, ctx: PlanContext): boolean {
  const wanted = dotenvValue(ctx.fact(host.facts.env), TARGET_VARIABLE);
  return ctx.fact(host.facts.container)?.state === 'running' && wanted !== undefined && text(ctx.fact(host.facts.containerTarget)) === wanted;
}

/** The value .env holds now, read live. */
export async function envValueNow(ctx: ExecContext, host: Host): Promise<string | undefined> {
  const read = await ctx.exec(shellJoin(['cat', '--', host.env]));
  return succeeded(read) ? dotenvValue(read.stdout, TARGET_VARIABLE) : undefined;
}

/** Whether the running container has the value .env holds now (read live). */
export async function servesNow(ctx: ExecContext, host: Host): Promise<boolean> {
  const [wanted, live, ps] = await Promise.all([envValueNow(ctx, host), ctx.exec(composeCommands.printenv(host.target, TARGET_VARIABLE)), ctx.exec(composeCommands.ps(host.target))]);
  return host.facts.container.parse(ps)?.state === 'running' && succeeded(live) && wanted !== undefined && live.stdout.toString('utf8').replace(/\n$/, '') === wanted;
}
