// Where the fix acts on the host: the project, the template, the compose service, and the facts read there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeTarget } from '../../src/compose/commands.js';
import type { ContainerStatus } from '../../src/compose/parse.js';
import { StartError } from '../../src/errors.js';
import { framedBackupsCommand, inDir } from '../../src/lib/file-commands.js';
import { packageRoot } from '../../src/paths.js';
import { RemotePath } from '../../src/shell/quote.js';
import type { ExecContext, Fact, PlanContext } from '../../src/core/types.js';
import { backupsFact, fileFact, type BackupFile } from '../../src/kinds/file-replace.js';
import { composeServicesFact, composeVersionFact, containerEnvFact, containerFact, containerFileFact, execInContainer, logsFact, type InContainer } from '../../src/kinds/compose.js';
import { renderTemplate } from './render.js';

/** The config to install, byte for byte. */
export const DESIRED = readFileSync(join(packageRoot(), 'runbooks', 'ocapistaine-ws-fix', 'ocapistaine.conf.template'));
/** The only variable the entrypoint substitutes; the only env value ever printed. */
export const TARGET_VARIABLE = 'OCAPISTAINE_TARGET_URL';
/** Where the entrypoint writes the rendered config in the container. */
export const RENDERED_CONFIG = '/etc/nginx/nginx.conf';
export const ENDPOINTS = { stream: '/_stcore/stream', health: '/_stcore/health' } as const;
/** `--profile` flags for `up`, as the operator types them. */
export const PROFILES = ['production', 'proxy'] as const;
/** The log lines the logs check reads: `docker compose logs --tail 50`. */
export const LOG_TAIL = 50;

export interface Params {
  dir: string;
  service: string;
  url: string;
}

/** Everything the steps, checks and diagnosis of one run share, built once from the parameters. */
export interface Host {
  params: Params;
  dir: RemotePath;
  templateRelative: string;
  template: RemotePath;
  configDir: RemotePath;
  templateName: string;
  target: ComposeTarget;
  facts: {
    backups: Fact<BackupFile[]>;
    template: Fact<Buffer>;
    version: Fact<string>;
    services: Fact<string[]>;
    container: Fact<ContainerStatus | undefined>;
    rendered: Fact<InContainer>;
    targetUrl: Fact<InContainer>;
    logs: Fact<string | undefined>;
  };
}

export function hostOf(params: Params): Host {
  const dir = new RemotePath(params.dir);
  const templateRelative = `proxy-configs/${params.service}.conf.template`;
  const template = dir.join(templateRelative);
  const configDir = dir.join('proxy-configs');
  const templateName = `${params.service}.conf.template`;
  const target: ComposeTarget = { dir, service: params.service, profiles: PROFILES };
  // The backups are listed from the project directory, so a missing project is told from a missing proxy-configs.
  const backups = {
    ...backupsFact(template, '.backup', (why) =>
      /cd:|can't cd|No such file/i.test(why) && !/proxy-configs/.test(why)
        ? new StartError(`the project directory ${params.dir} does not exist: ${why}`, 'precondition-dir', 'Check --dir (a leading ~/ is the remote user\'s home).')
        : new StartError(`cannot list ${configDir.path}: ${why}`, 'precondition-dir', 'Check --dir and --service.'),
    ),
    command: inDir(dir, framedBackupsCommand(new RemotePath(templateRelative), '.backup')),
  };
  return {
    params,
    dir,
    templateRelative,
    template,
    configDir,
    templateName,
    target,
    facts: {
      backups,
      template: fileFact(template, (why) => new StartError(`the template ${template.path} cannot be read: ${why}`, 'precondition-template', `Check --dir and --service (the template is ${templateRelative} in the project directory).`)),
      version: composeVersionFact(target, 'the SSH user'),
      services: composeServicesFact(target),
      container: containerFact(target),
      rendered: containerFileFact(target, RENDERED_CONFIG),
      targetUrl: containerEnvFact(target, TARGET_VARIABLE),
      logs: logsFact(target, LOG_TAIL),
    },
  };
}

const textOf = (read: InContainer): string | undefined => (read.ok ? read.stdout.toString('utf8').trim() || undefined : undefined);

/** Whether the running container's rendered config is exactly a template rendered, as the facts show it. */
export function servesByFacts(host: Host, ctx: PlanContext, template: Buffer): boolean {
  const container = ctx.fact(host.facts.container);
  const rendered = ctx.fact(host.facts.rendered);
  const url = textOf(ctx.fact(host.facts.targetUrl));
  if (container?.state !== 'running' || !rendered.ok || url === undefined) return false;
  return rendered.stdout.equals(renderTemplate(template, { [TARGET_VARIABLE]: url }));
}

/** The rendered config and the target URL of the running container, read now. */
export async function readLive(ctx: ExecContext, host: Host): Promise<{ rendered: InContainer; targetUrl: InContainer }> {
  const [rendered, targetUrl] = await Promise.all([execInContainer(ctx, host.target, ['cat', RENDERED_CONFIG]), execInContainer(ctx, host.target, ['printenv', TARGET_VARIABLE])]);
  return { rendered, targetUrl };
}

/** Whether the running container serves the template as it is on the host now (read live). */
export async function servesNow(ctx: ExecContext, host: Host): Promise<boolean> {
  const [template, live, ps] = await Promise.all([ctx.exec(`cat -- ${host.template.toShell()}`), readLive(ctx, host), ctx.exec(host.facts.container.command)]);
  const url = textOf(live.targetUrl) ?? textOf(ctx.fact(host.facts.targetUrl));
  if (template.code !== 0 || !live.rendered.ok || url === undefined || host.facts.container.parse(ps)?.state !== 'running') return false;
  return live.rendered.stdout.equals(renderTemplate(template.stdout, { [TARGET_VARIABLE]: url }));
}

export { textOf };
