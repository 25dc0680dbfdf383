// Reads everything the plan needs in one burst of concurrent channels: no writes, ever.
import { composeCommands } from '../compose/commands.js';
import { parsePsJson, type ContainerStatus } from '../compose/parse.js';
import type { Session } from '../engine/context.js';
import { StartError } from '../errors.js';
import { readJournalCommand } from '../engine/host-state.js';
import { LOG_TAIL } from './log-tail.js';
import { parseJournal, type JournalEvent } from '../engine/run-journal.js';
import { shellJoin, type RemotePath } from '../shell/quote.js';
import { firstLine, succeeded, type ExecResult } from '../transport/transport.js';

export interface BackupFile {
  name: string;
  path: RemotePath;
  content: Buffer;
}

export interface HostFacts {
  template: Buffer;
  /** Backups of the template, oldest first (the seed's `.backup`, then timestamped ones). */
  backups: BackupFile[];
  composeVersion: string;
  services: string[];
  container: ContainerStatus | undefined;
  /** The running container's rendered config; undefined when it cannot be read (not running). */
  rendered: Buffer | undefined;
  /** The target URL in the running container; undefined when unset or unreadable. */
  targetUrl: string | undefined;
  /** Recent events of the run journal on the host. */
  journal: JournalEvent[];
  /** The service's last log lines (stdout and stderr), for a run that restarts nothing. */
  logs: string | undefined;
}

/** `cat` of a remote file: raw bytes, never trimmed. */
export function catCommand(path: RemotePath): string {
  return shellJoin(['cat', '--', path]);
}

/** Backups sort oldest first: the plain `.backup`, then timestamped names in time order. */
export function isBackupName(name: string, templateName: string, suffix: string): boolean {
  const base = templateName + suffix;
  return name === base || (name.startsWith(base + '.') && !name.endsWith('.tmp'));
}

// Turns a failed precondition into an exit-3 error naming what is missing and the flag that fixes it.
function precondition(session: Session, results: Record<'list' | 'template' | 'version' | 'services', ExecResult>): string[] {
  const { options, paths } = session;
  if (!succeeded(results.list)) {
    const why = firstLine(results.list);
    if (/cd:|can't cd|No such file/i.test(why) && !/proxy-configs|ls:/.test(why)) {
      throw new StartError(`the project directory ${options.dir} does not exist on ${session.label}: ${why}`, 'precondition-dir', 'Check --dir (a leading ~/ is the remote user\'s home).');
    }
    throw new StartError(`cannot list ${paths.configDir} on ${session.label}: ${why}`, 'precondition-dir', 'Check --dir and --service.');
  }
  if (!succeeded(results.template)) {
    throw new StartError(`the template ${paths.template} cannot be read: ${firstLine(results.template)}`, 'precondition-template', `Check --dir and --service (the template is ${session.runbook.templatePath(options.service)} in the project directory).`);
  }
  if (!succeeded(results.version)) {
    throw new StartError(`docker compose does not work on the host: ${firstLine(results.version)}`, 'precondition-compose', `Check that Docker Compose v2 is installed and that ${options.user} may use docker (the docker group).`);
  }
  if (!succeeded(results.services)) {
    throw new StartError(`docker compose config --services failed in ${options.dir}: ${firstLine(results.services)}`, 'precondition-compose', 'Check the compose file in --dir.');
  }
  const services = results.services.stdout.toString('utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  if (!services.includes(options.service)) {
    throw new StartError(`service ${options.service} is not in the compose project (services: ${services.join(', ') || 'none'})`, 'precondition-service', 'Check --service.');
  }
  return services;
}

/** The container's state from `ps`; undefined when it has none. */
export function containerOf(result: ExecResult, service: string): ContainerStatus | undefined {
  if (!succeeded(result)) return undefined;
  const containers = parsePsJson(result.stdout.toString('utf8'));
  return containers.find((c) => c.service === service) ?? containers[0];
}

/** Reads the rendered config and the target URL of the running container. */
export async function readLive(session: Session): Promise<{ rendered: Buffer | undefined; targetUrl: string | undefined }> {
  const [rendered, target] = await Promise.all([
    session.exec(composeCommands.cat(session.target, session.runbook.renderedConfigPath)),
    session.exec(composeCommands.printenv(session.target, session.runbook.targetVariable)),
  ]);
  const url = target.stdout.toString('utf8').trim();
  return {
    rendered: succeeded(rendered) ? rendered.stdout : undefined,
    targetUrl: succeeded(target) && url !== '' ? url : undefined,
  };
}

// Every backup of the template in one command: name, size and bytes for each, so no second round trip is needed.
export function backupsCommand(session: Session): string {
  const { paths, runbook } = session;
  const prefix = paths.templateName + runbook.backupSuffix;
  return (
    `${shellJoin(['cd', '--', paths.configDir])} && for f in ${shellJoin([prefix])} ${shellJoin([`${prefix}.`])}*; do ` +
    `[ -f "$f" ] || continue; printf '%s\\n%s\\n' "$f" "$(wc -c < "$f")"; cat -- "$f"; done`
  );
}

/** Reads `name\nsize\nbytes…` frames; stops at anything malformed (a name with a line break, a cut output). */
export function parseFramedFiles(output: Buffer): { name: string; content: Buffer }[] {
  const files: { name: string; content: Buffer }[] = [];
  let at = 0;
  while (at < output.length) {
    const nameEnd = output.indexOf(10, at);
    const sizeEnd = nameEnd < 0 ? -1 : output.indexOf(10, nameEnd + 1);
    if (sizeEnd < 0) break;
    const size = Number(output.subarray(nameEnd + 1, sizeEnd).toString('latin1').trim());
    if (!Number.isInteger(size) || size < 0 || sizeEnd + 1 + size > output.length) break;
    files.push({ name: output.subarray(at, nameEnd).toString('utf8'), content: output.subarray(sizeEnd + 1, sizeEnd + 1 + size) });
    at = sizeEnd + 1 + size;
  }
  return files;
}

/** Gathers the host's facts and checks the preconditions (step 1 of the runbook), in one burst of channels. */
export async function gatherFacts(session: Session): Promise<HostFacts> {
  const { paths, target } = session;
  const [list, template, version, servicesResult, ps, live, journal, logs] = await Promise.all([
    session.exec(`${shellJoin(['cd', '--', paths.dir])} && ${backupsCommand(session)}`),
    session.exec(catCommand(paths.template)),
    session.exec(composeCommands.version(target)),
    session.exec(composeCommands.services(target)),
    session.exec(composeCommands.ps(target)),
    readLive(session),
    session.exec(readJournalCommand(session.state)),
    session.exec(composeCommands.logs(target, LOG_TAIL)),
  ]);
  const services = precondition(session, { list, template, version, services: servicesResult });
  const backups = parseFramedFiles(list.stdout)
    .filter(({ name }) => isBackupName(name, paths.templateName, session.runbook.backupSuffix))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, content }) => ({ name, path: paths.configDir.join(name), content }));
  return {
    template: template.stdout,
    backups,
    composeVersion: version.stdout.toString('utf8').trim(),
    services,
    container: containerOf(ps, target.service),
    ...live,
    logs: succeeded(logs) ? `${logs.stdout.toString('utf8')}\n${logs.stderr.toString('utf8')}` : undefined,
    journal: parseJournal(journal.stdout.toString('utf8')),
  };
}
