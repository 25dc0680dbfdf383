// Where the rotation acts: the project's .env and the compose service. The token's value is never on a command line:
// the container's copy is compared by its checksum, computed on the host.
import { composeCommands, dotenvComposeProject, dotenvValue, sha256, shellJoin, succeeded, type ComposeTarget, type DotenvComposeProject, type ExecContext, type Fact, type PlanContext } from '../../src/index.js';
import { TOKEN_VARIABLE } from './meta.js';

// Defined in meta.ts, with what --help shows.
export { TOKEN_VARIABLE };
/** The one variable of that .env whose value may be printed. */
export const PRINTABLE = ['OCAPISTAINE_TARGET_URL'];
export const PROFILES = ['production', 'proxy'] as const;

export interface Params {
  dir: string;
  service: string;
  /** Absent on --rollback, which undoes from the journal's records. */
  token?: string;
}

export interface Host extends DotenvComposeProject {
  facts: DotenvComposeProject['facts'] & { containerToken: Fact<string | undefined> };
}

/** What `printenv NAME | sha256sum` prints for a value: printenv ends it with a newline. */
export const printenvSha = (value: string): string => sha256(Buffer.from(`${value}\n`, 'utf8'));

/** `printenv NAME | sha256sum` in the running container: the value itself never leaves the host. */
function printenvShaCommand(target: ComposeTarget): string {
  return `${composeCommands.exec(target, ['printenv', TOKEN_VARIABLE])} | sha256sum`;
}

export function hostOf(p: Params): Host {
  const project = dotenvComposeProject(p, PROFILES, TOKEN_VARIABLE);
  const { target } = project;
  return {
    ...project,
    facts: {
      ...project.facts,
      containerToken: {
        id: `token-sha:${target.service}`,
        command: printenvShaCommand(target),
        parse: (result) => (succeeded(result) ? /^[0-9a-f]{64}/.exec(result.stdout.toString('utf8'))?.[0] : undefined),
      },
    },
  };
}

/** Whether the running container has the token .env holds, as the facts show it (by checksum). */
export function servedByFacts(host: Host, ctx: PlanContext): boolean {
  const wanted = dotenvValue(ctx.fact(host.facts.env), TOKEN_VARIABLE);
  return ctx.fact(host.facts.container)?.state === 'running' && wanted !== undefined && ctx.fact(host.facts.containerToken) === printenvSha(wanted);
}

/** The token .env holds now, read live (the file crosses the wire, as its fact did; it is never printed). */
export async function envTokenNow(ctx: ExecContext, host: Host): Promise<string | undefined> {
  const read = await ctx.exec(shellJoin(['cat', '--', host.env]));
  return succeeded(read) ? dotenvValue(read.stdout, TOKEN_VARIABLE) : undefined;
}

/** Whether the running container has the token .env holds now: checksums compared, read live. */
export async function servesNow(ctx: ExecContext, host: Host): Promise<boolean> {
  const [wanted, live, ps] = await Promise.all([envTokenNow(ctx, host), ctx.exec(printenvShaCommand(host.target)), ctx.exec(composeCommands.ps(host.target))]);
  return host.facts.container.parse(ps)?.state === 'running' && wanted !== undefined && live.stdout.toString('utf8').slice(0, 64) === printenvSha(wanted);
}
