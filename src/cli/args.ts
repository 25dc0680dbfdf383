// argv → validated options. Bad values are refused here, before anything connects (exit 64).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { TIMING_DEFAULTS, type RunOptions } from '../core/options.js';
import { envName, printableParams, resolveParams } from '../core/params.js';
import type { AnyParams, Runbook, RunbookMeta } from '../core/types.js';
import { UsageError } from '../errors.js';
import type { TargetSpec } from '../core/targets.js';
import { cutShard, parseShard, type FleetShard } from '../core/shard.js';
import type { FakeHostCommand } from './fake-host-args.js';
import type { MergeReportsCommand } from './merge-reports-args.js';
import { loadLayers, type Layers } from './layers.js';
import { DEFAULT_RUNBOOK, chooseRunbook } from './registry.js';
import { HELP_WIDTH, englishLocale, savedHelp } from './help-snapshot.js';
import { flagsMissingValue, suggestForUnknown } from './suggest.js';
import { isHostName } from '../transport/names.js';
import type { SshFlags, SshTargetSpec } from '../transport/target.js';
// Loaded where they are used, not here: --help and --version load yargs, the option definitions and the chosen
// runbook's meta, and none of the SSH config reader, the fake host's parser or a runbook's code (test/cli/startup.test.ts).

export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0    success: applied, already applied, rolled back on request, dry-run; --check: healthy',
  '  1    a check failed and the host is in its previous state (rolled back where this run changed it);',
  '       also: the operator declined at the prompt (nothing changed)',
  '  2    failed and the host is NOT back to its previous state; the report says what is left',
  '       and the exact commands to recover',
  '  3    could not start: connection, authentication, host key or a precondition (nothing changed)',
  '  4    --check: the host needs the runbook\'s change (nothing changed)',
  '  5    --check: nothing to change, but a check fails (nothing changed)',
  '  6    applied and verified, but --commit failed: the change is live, not committed',
  '  64   usage error: a bad flag or value',
  '  130  interrupted by Ctrl-C (143: SIGTERM, 129: SIGHUP) after rolling back what this run had changed',
].join('\n');

export type Command =
  | { kind: 'run'; runbook: Runbook; options: RunOptions; json: boolean; demo: false }
  /** With --shard: `runs` are the shard's hosts (maybe none), and `shard` says what the whole fleet is. */
  | { kind: 'fleet'; runbook: Runbook; runs: RunOptions[]; json: boolean; concurrency: number; shard?: FleetShard }
  /** --shard I/N that no host of the fleet falls in: nothing to run, and that is not an error. */
  | { kind: 'empty-shard'; runbook: Runbook; json: boolean; shard: FleetShard; action: RunOptions['action']; dryRun: boolean }
  | MergeReportsCommand
  | { kind: 'runbooks'; json: boolean }
  | { kind: 'explain'; runbook: Runbook; options: RunOptions; host: boolean }
  | { kind: 'print-config'; text: string }
  | { kind: 'done' }
  | { kind: 'demo'; runbook: Runbook; options: RunOptions; json: boolean; faults: string[] }
  | FakeHostCommand
  | { kind: 'help'; text: string }
  | { kind: 'version' };

export interface ParseEnv {
  env: NodeJS.ProcessEnv;
  /** Where apply-ws-fix.config.json is looked for (the process's cwd by default). */
  cwd?: string;
  /** Both stdin and stdout are terminals: a prompt can be shown and answered. */
  interactive: boolean;
  faultNames: readonly string[];
  version: string;
  /** All of standard input, for a parameter given as `-` (a secret never rides on a flag). */
  readStdin?: () => Promise<string>;
}

// What a value looks like, for "--host needs a value. For example: --host vaettir.locki.io".
const EXAMPLES: Record<string, string> = {
  host: 'vaettir.locki.io', port: '22', user: 'jnxmas', identity: '~/.ssh/id_ed25519', 'known-hosts': '~/.ssh/known_hosts',
  'ssh-config': '~/.ssh/config', 'hosts-file': 'proxies.txt', concurrency: '5', dir: '~/vaettir', service: 'ocapistaine',
  url: 'https://ocapistaine.vaettir.locki.io', config: 'apply-ws-fix.config.json', fault: 'upstream-down', streamlit: 'tornado',
  settle: '3', 'start-timeout': '60', 'connect-timeout': '10', shard: '2/4',
};

const USER = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;
const PARAM_FLAGS = ['dir', 'service', 'url'] as const;

/** A local path with a leading ~ expanded, as a shell would before handing it over. */
export function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  const home = env['HOME'] ?? homedir();
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

// Only plain decimal digits: Number() would also take "0x10", "1e3" and " 22 ", which nobody means as a port.
function port(value: unknown, flag: string): number {
  const text = String(value);
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be a whole number from 1 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

/** The longest any timing setting may be: an hour. Past 2^31 ms a Node timer fires at once, so some bound is needed. */
export const MAX_SECONDS = 3600;

// A plain decimal number of seconds ("2", "0.5"), from min to an hour: "1e308" would overflow the timer into "at once".
function seconds(value: unknown, flag: string, min: number): number {
  const text = String(value);
  const n = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > MAX_SECONDS) throw new UsageError(`${flag} must be a number of seconds from ${min} to ${MAX_SECONDS}, not ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

// The runbook's parameters from every layer, low to high: its defaults, the config file's "params", the
// APPLY_WS_FIX_PARAM_* environment, --dir/--service/--url (flag > env > file), --param NAME=VALUE. A secret is
// never taken from a flag (ps shows command lines) nor from the file: only from the environment, or stdin with `-`.
async function paramsOf(runbook: Runbook, layered: Record<string, string>, flags: readonly string[], fileParams: Record<string, string>, penv: ParseEnv): Promise<Record<string, string>> {
  const given: Record<string, string> = Object.create(null) as Record<string, string>;
  const secret = (name: string): boolean => runbook.params[name]?.secret === true;
  for (const [name, value] of Object.entries(fileParams)) {
    if (secret(name)) throw new UsageError(`the config file sets the secret parameter ${name}`, `Give it with APPLY_WS_FIX_PARAM_${envName(name)}, or --param ${name}=- to read it from stdin.`);
    given[name] = value;
  }
  for (const name of Object.keys(runbook.params)) {
    const value = penv.env[`APPLY_WS_FIX_PARAM_${envName(name)}`];
    if (value !== undefined) given[name] = value;
  }
  for (const [name, value] of Object.entries(layered)) given[name] = value;
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${JSON.stringify(flag)} is not NAME=VALUE`, 'Example: --param target-url=https://new.example');
    const name = flag.slice(0, eq);
    let value = flag.slice(eq + 1);
    if (value === '-') {
      if (penv.readStdin === undefined) throw new UsageError(`--param ${name}=- reads stdin, and there is none here`);
      value = (await penv.readStdin()).replace(/\r?\n$/, '');
    } else if (secret(name)) {
      throw new UsageError(`--param ${name} is a secret: it is never taken from a flag (ps shows command lines)`, `Give it with APPLY_WS_FIX_PARAM_${envName(name)}=…, or --param ${name}=- to read it from stdin.`);
    }
    given[name] = value;
  }
  return given;
}

// Where to connect: explicit SSH flags, then the ssh config, then the runbook's defaults. The demo reads no config:
// its fake host replaces all of these.
async function sshTarget(
  args: { host?: string | undefined; port?: string | undefined; user?: string | undefined; identity?: string | undefined; 'known-hosts'?: string | undefined; 'ssh-config'?: string | undefined; 'accept-new-host-key'?: boolean | undefined; demo?: boolean | undefined },
  defaults: RunbookMeta['connection'],
  env: NodeJS.ProcessEnv,
): Promise<SshTargetSpec | (Omit<SshTargetSpec, 'ssh'> & { ssh: undefined })> {
  const path = (value: string | undefined): string | undefined => (value === undefined ? undefined : expandHome(value, env));
  // The name given is checked before it is looked up, so a config can never launder a hostile --host.
  if (args.host !== undefined && !isHostName(args.host)) throw new UsageError(`--host ${JSON.stringify(args.host)} is not a host name or IP address`);
  const flags: SshFlags = {
    host: args.host,
    port: args.port === undefined ? undefined : port(args.port, '--port'),
    user: args.user,
    identity: path(args.identity),
    knownHosts: path(args['known-hosts']),
    sshConfig: args['ssh-config'] === 'none' ? 'none' : path(args['ssh-config']),
    acceptNewHostKey: args['accept-new-host-key'],
  };
  if (args.demo) {
    const home = env['HOME'] ?? homedir();
    return { host: defaults.host, port: defaults.port, user: defaults.user, identity: flags.identity, knownHosts: flags.knownHosts ?? join(home, '.ssh', 'known_hosts'), ssh: undefined };
  }
  const { loadTarget } = await import('../transport/target.js');
  return loadTarget(flags, defaults, env);
}

// The hosts of a fleet run: every --host, then every line of --hosts-file (# comments and blank lines skipped), each
// with where it was written so a mistake is named by its file and line.
async function fleetTargets(hosts: readonly string[], file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<TargetSpec[]> {
  const { hostsFileLines, parseTargetLine } = await import('../core/targets.js');
  const targets = hosts.map((host) => parseTargetLine(host, `--host ${host}`));
  if (file !== undefined) {
    const text = await readFile(resolve(cwd, expandHome(file, env)), 'utf8').catch((error: unknown) => {
      throw new UsageError(`cannot read --hosts-file ${file}: ${(error as Error).message}`);
    });
    targets.push(...hostsFileLines(text).map(({ text: line, line: n }) => parseTargetLine(line, `${file}:${n}`)));
  }
  return targets;
}

// Which hosts the run is for. The fleet is exactly what the flags name: --host (repeatable) and --hosts-file. A host or
// hosts file from the environment or the config file is a default, used only when no flag names a target, and then
// the higher layer's alone (the environment's over the file's); it never joins the flags' targets.
function targetChoice(argv: readonly string[], args: { host?: string | string[] | undefined; 'hosts-file'?: string | undefined }, layers: Layers): { hosts: string[]; file: string | undefined } {
  const given = (flag: string): boolean => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (given('--host') || given('--hosts-file')) {
    return { hosts: given('--host') ? [args.host ?? []].flat().map(String) : [], file: given('--hosts-file') ? args['hosts-file'] : undefined };
  }
  const host = layers.values.host;
  const file = layers.values['hosts-file'];
  if (host === undefined || file === undefined) return { hosts: host === undefined ? [] : [host], file };
  const fromEnv = (key: 'host' | 'hosts-file'): boolean => layers.sources[key]?.startsWith('env ') === true;
  if (fromEnv('host') === fromEnv('hosts-file')) {
    throw new UsageError(`${layers.sources.host} sets host and ${layers.sources['hosts-file']} sets hosts-file: one run cannot be both`, 'Keep one of them, or name the targets with --host or --hosts-file.');
  }
  return fromEnv('host') ? { hosts: [host], file: undefined } : { hosts: [], file };
}

// The fault names that complete the last item of a comma list ("build-fails,up" → "build-fails,up-fails", …):
// --fault takes such lists, so yargs' own completion of choices cannot do it.
export function faultCompletions(current: string, faultNames: readonly string[]): string[] {
  const items = current.split(',');
  const last = items.pop() ?? '';
  return faultNames.filter((name) => name.startsWith(last)).map((name) => [...items, name].join(','));
}

// yargs' own table of the options it was given (getOptions() exists in yargs 18; @types/yargs 17 leaves it out).
function optionsOf(parser: object): { key: Record<string, unknown>; string: string[]; number: string[]; array: string[] } {
  return (parser as { getOptions(): ReturnType<typeof optionsOf> }).getOptions();
}

// --runbook NAME|PATH (or =), read before yargs: the runbook decides the defaults and the parameters.
function runbookFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--runbook') return argv[i + 1];
    if (arg.startsWith('--runbook=')) return arg.slice('--runbook='.length);
  }
  return undefined;
}

/** Parses argv into a command; throws UsageError on anything invalid. */
export async function parseArgs(argv: readonly string[], penv: ParseEnv): Promise<Command> {
  // `apply-ws-fix help` and `apply-ws-fix help fake-host`, as people type them.
  if (argv[0] === 'help' && argv.length <= 2) return parseArgs(argv[1] === 'fake-host' || argv[1] === 'merge-reports' ? [argv[1], '--help'] : [...argv.slice(1), '--help'], penv);
  // fake-host has flags of its own (and a command after --): its own parser, so its --help lists only those.
  if (argv[0] === 'fake-host') return (await import('./fake-host-args.js')).parseFakeHostArgs(argv, penv.faultNames);
  // merge-reports reads files, not hosts: its own parser too.
  if (argv[0] === 'merge-reports') return (await import('./merge-reports-args.js')).parseMergeArgs(argv);
  const completing = argv.includes('--get-yargs-completions');
  const cwd = penv.cwd ?? process.cwd();
  const layers = await loadLayers(argv, penv.env, cwd);
  // --version alone, with the default runbook: nothing the parser could refuse, so no parser (an unknown flag beside
  // it, or a runbook that cannot load, is still refused below).
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V') && layers.runbook === undefined) return { kind: 'version' };
  const width = Math.min(HELP_WIDTH, process.stdout.columns || HELP_WIDTH);
  // --help alone, with nothing set that could change its text: yargs' own rendering of it, saved by the build.
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && Object.keys(layers.values).length === 0 && width === HELP_WIDTH && englishLocale(process.env)) {
    const text = savedHelp();
    if (text !== undefined) return { kind: 'help', text };
  }
  // The help needs the runbook's meta only; the runbook itself loads once the command is known to run it.
  const choice = await chooseRunbook(runbookFlag(argv) ?? layers.runbook ?? DEFAULT_RUNBOOK, cwd);
  const meta = choice.meta;
  const defaults = meta.connection;
  const declared = (name: string) => Object.hasOwn(meta.params, name);
  const paramDefault = (name: string): string | undefined => (meta.params[name]?.default === undefined ? undefined : String(meta.params[name]!.default));
  const { default: yargs } = await import('yargs');
  const parser = yargs([...argv])
    // Env and file values sit below the flags: yargs applies a config object only where no flag was given.
    .config(layers.values)
    .scriptName('apply-ws-fix')
    .usage(
      [
        meta.id === DEFAULT_RUNBOOK
          ? 'apply-ws-fix [options]: apply the nginx WebSocket fix over SSH, verify it, and roll back by itself if a check fails.'
          : `apply-ws-fix --runbook ${meta.id} [options]: ${meta.title}.`,
        '',
        '  apply-ws-fix --host vaettir.locki.io              apply, verify, roll back on any failed check',
        '  apply-ws-fix --host vaettir.locki.io --dry-run    plan and diff; nothing changed',
        '  apply-ws-fix --host vaettir.locki.io --rollback   put the previous config back',
        '  apply-ws-fix --demo [--fault NAME]                the whole job against a built-in fake host',
        '  apply-ws-fix fake-host [--fault NAME] -- CMD      run CMD against a fake host over SSH (for CI), then stop it',
        '  apply-ws-fix runbooks                             list the runbooks and their parameters',
        '  apply-ws-fix explain [--runbook X] [--host H]     the manual procedure as Markdown (for that host, as it is now)',
        '  apply-ws-fix --hosts-file F --shard I/N …         only the hosts of shard I of N (one CI job a shard)',
        '  apply-ws-fix merge-reports shard-*.json           the shards\' --json reports as one fleet table and exit code',
        '  apply-ws-fix --runbook NAME|./file.mjs --help     a runbook\'s parameters',
        '',
        `Runbook: ${meta.id}: ${meta.description}`,
        '',
        'Its parameters (--param NAME=VALUE; env APPLY_WS_FIX_PARAM_<NAME>; config "params"):',
        ...Object.entries(meta.params).map(([name, spec]) => `  ${name.padEnd(14)} ${spec.description}${spec.secret ? ' [secret: env or stdin only]' : ''}${spec.default !== undefined ? ` (default: ${String(spec.default)})` : spec.required ? ` (required${spec.required === 'apply' ? ' to apply' : ''})` : ''}`),
      ].join('\n'),
    )
    .command('runbooks', 'list the runbooks and their parameters (--json too)')
    .command('explain', 'print the runbook\'s manual procedure as Markdown (with --host: for that host as it is now)')
    .option('runbook', { type: 'string', defaultDescription: DEFAULT_RUNBOOK, describe: 'the runbook to run: a name (apply-ws-fix runbooks) or the path of an ES module whose default export is a runbook' })
    .option('param', { type: 'array', string: true, describe: 'a runbook parameter, NAME=VALUE (repeatable); NAME=- reads the value from stdin' })
    .option('check', { type: 'boolean', default: false, describe: 'read-only: exit 0 if the host is as the runbook leaves it and every check passes, 4 if it needs the change, 5 if a check fails' })
    .command('merge-reports', 'merge the --json reports of a fleet\'s shards: one table, one exit code (apply-ws-fix merge-reports --help)')
    .command('fake-host', 'serve the built-in fake host on 127.0.0.1, or run a command against it (apply-ws-fix fake-host --help)')
    .completion('completion', 'print a bash/zsh completion script (source it from your shell rc)', (current: string, _argv: unknown, completeByDefault: () => void, done: (completions: string[]) => void) => {
      // The words being completed follow --get-yargs-completions; after --fault come the fault names.
      const words = argv.slice(argv.indexOf('--get-yargs-completions') + 1);
      if (words.at(-2) === '--fault') done(faultCompletions(current, penv.faultNames));
      else completeByDefault();
    })
    // No yargs defaults for the SSH flags: a flag given must be told from one not given, because ~/.ssh/config
    // fills in what was not given, before the runbook's defaults do.
    .option('host', { type: 'string', defaultDescription: defaults.host, describe: 'the host to fix; may be a Host alias of the ssh config' })
    .option('port', { type: 'number', defaultDescription: `the ssh config's Port, else ${defaults.port}`, describe: 'SSH port' })
    .option('user', { type: 'string', defaultDescription: `the ssh config's User, else ${defaults.user}`, describe: 'SSH user' })
    .option('identity', { type: 'string', describe: "private key file (default: ssh-agent via SSH_AUTH_SOCK, then the ssh config's IdentityFile, else ~/.ssh/id_rsa, id_ecdsa, id_ed25519)" })
    .option('known-hosts', { type: 'string', defaultDescription: '~/.ssh/known_hosts, known_hosts2 (or UserKnownHostsFile), /etc/ssh/ssh_known_hosts', describe: 'the only known_hosts file the host key is checked against (and where --accept-new-host-key records)' })
    .option('accept-new-host-key', { type: 'boolean', default: false, describe: "record the key of a host never seen before (OpenSSH's accept-new); a changed or revoked key is still refused" })
    .option('ssh-config', { type: 'string', defaultDescription: '~/.ssh/config, then /etc/ssh/ssh_config', describe: 'ssh config, read as ssh -F reads it (Include, Match, ProxyJump, ProxyCommand, HostKeyAlias…); what it cannot follow is refused ("none": no config)' })
    .option('hosts-file', { type: 'string', describe: 'several hosts: one [user@]host[:port] [url] a line (with --host, may be given several times)' })
    .option('concurrency', { type: 'number', default: 5, describe: 'with several hosts: how many run at once' })
    .option('shard', { type: 'string', describe: 'I/N: run only the hosts of shard I of N (from 1), split by a hash of user@host:port; the rest of the fleet is left to the other shards' })
    .option('dir', { type: 'string', describe: declared('dir') ? `--param dir: ${meta.params['dir']!.description}` : '(not a parameter of this runbook)', ...(paramDefault('dir') !== undefined ? { defaultDescription: paramDefault('dir') } : {}) })
    .option('service', { type: 'string', describe: declared('service') ? `--param service: ${meta.params['service']!.description}` : '(not a parameter of this runbook)', ...(paramDefault('service') !== undefined ? { defaultDescription: paramDefault('service') } : {}) })
    .option('url', { type: 'string', describe: declared('url') ? `--param url: ${meta.params['url']!.description}` : '(not a parameter of this runbook)', ...(paramDefault('url') !== undefined ? { defaultDescription: paramDefault('url') } : {}) })
    .option('dry-run', { type: 'boolean', default: false, describe: 'plan and diff only; read-only commands' })
    .option('rollback', { type: 'boolean', default: false, describe: 'restore the backup made by an earlier apply, rebuild, restart' })
    .option('yes', { type: 'boolean', alias: 'y', default: false, describe: 'do not ask before changing the host (required without a terminal)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON report on stdout (progress goes to stderr)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'show each remote command and its output (secrets masked)' })
    .option('force-unlock', { type: 'boolean', default: false, describe: 'remove a lock left on the host by a run that died, then go on' })
    .option('config', { type: 'string', defaultDescription: './apply-ws-fix.config.json', describe: 'a JSON file of settings (host, port, user, dir, service, url, …); flags > APPLY_WS_FIX_* env > file > defaults' })
    .option('print-config', { type: 'boolean', default: false, describe: 'print the settings this run would use and where each comes from, then stop' })
    .option('commit', { type: 'boolean', default: false, describe: "commit the template change in the host's git repository once the checks pass" })
    .option('demo', { type: 'boolean', default: false, describe: 'run against the built-in fake host; no server needed' })
    .option('fault', { type: 'array', string: true, default: [] as string[], describe: `with --demo or fake-host: inject a fault (${penv.faultNames.join(', ')})` })
    .option('streamlit', { type: 'string', choices: ['seed', 'tornado'], default: 'seed', describe: 'with --demo or fake-host: answer plain requests with the 426 a manual curl check expects (seed) or as real Streamlit does (400/405)' })
    .option('settle', { type: 'number', default: TIMING_DEFAULTS.settleMs / 1000, describe: 'seconds the container must keep running after a restart' })
    .option('start-timeout', { type: 'number', default: TIMING_DEFAULTS.startTimeoutMs / 1000, describe: 'seconds to wait for the container to run' })
    .option('connect-timeout', { type: 'number', default: TIMING_DEFAULTS.connectTimeoutMs / 1000, describe: 'seconds to wait for the SSH connection' })
    .epilogue(EXIT_CODES_HELP)
    .strict()
    .help(false)
    .version(false)
    .option('help', { type: 'boolean', alias: 'h', describe: 'show this help' })
    .option('version', { type: 'boolean', alias: 'V', describe: 'show the version' })
    .wrap(width)
    .exitProcess(false)
    .fail((message, error) => {
      // yargs prints the completion script itself, then strict mode would call the command word unknown.
      if (argv[0] === 'completion' && error === undefined) return;
      if (error instanceof UsageError) throw error;
      if (argv.includes('merge-reports')) throw new UsageError('merge-reports comes first, before its files', 'Run apply-ws-fix merge-reports --help.');
      const text = message ?? error?.message ?? 'bad arguments';
      const hint = suggestForUnknown(text, Object.keys(optionsOf(parser).key), ['help', 'fake-host', 'completion', 'merge-reports'], argv);
      throw new UsageError(text, hint ? `${hint} Run apply-ws-fix --help.` : 'Run apply-ws-fix --help.');
    });
  // `--host` with nothing after it: yargs would make that an empty string, refused later as "not a host name".
  if (!completing) {
    const options = optionsOf(parser);
    const [missing] = flagsMissingValue(argv, [...options.string, ...options.number, ...options.array]);
    if (missing !== undefined) throw new UsageError(`--${missing} needs a value`, `For example: --${missing} ${EXAMPLES[missing] ?? 'VALUE'}. Run apply-ws-fix --help.`);
  }
  const args = await parser.parseAsync();
  // A flag given twice is an array to yargs ("path.startsWith is not a function" further on): name it instead. Only
  // --host (several hosts), --param and --fault may repeat; a boolean given twice is the same boolean.
  const repeatable = new Set(['host', 'param', 'fault', '_']);
  for (const [key, value] of Object.entries(args)) {
    if (Array.isArray(value) && !repeatable.has(key) && !/[A-Z]/.test(key) && Object.hasOwn(optionsOf(parser).key, key)) {
      throw new UsageError(`--${key} was given more than once (${value.map((v) => JSON.stringify(String(v))).join(', ')})`, `Give --${key} once.`);
    }
  }
  if (args.help) return { kind: 'help', text: await parser.getHelp() };
  if (args.version) return { kind: 'version' };
  const positional = args._.map(String);
  // yargs printed the completion script (or the completions it was asked for) itself.
  if (positional[0] === 'completion' || args['get-yargs-completions'] !== undefined) return { kind: 'done' };
  if (positional.length > 1 || (positional.length === 1 && !['fake-host', 'runbooks', 'explain'].includes(positional[0]!))) {
    throw new UsageError(`unknown command: ${positional.join(' ')}`, 'Run apply-ws-fix --help.');
  }
  if (positional[0] === 'runbooks') return { kind: 'runbooks', json: args.json };
  const runbook = await choice.load();
  const { rawValue } = await import('./fake-host-args.js');
  // Numbers as typed: yargs would turn "0x10" into 16, "1e3" into 1000 and "ssh" into NaN before they are checked, so
  // the text comes from the flag itself, else the environment or the config file, else the default.
  const numberText = (key: 'port' | 'concurrency' | 'settle' | 'start-timeout' | 'connect-timeout'): string | undefined => {
    const value = rawValue(argv, `--${key}`) ?? layers.values[key] ?? (args[key] as unknown);
    return value === undefined ? undefined : String(value);
  };
  const faults = (args.fault ?? []).flatMap((f) => String(f).split(',')).filter(Boolean);
  for (const fault of faults) {
    if (!penv.faultNames.includes(fault)) throw new UsageError(`unknown fault ${JSON.stringify(fault)}`, `Faults: ${penv.faultNames.join(', ')}`);
  }
  if (positional[0] === 'fake-host') throw new UsageError('fake-host comes first, before its flags', 'Run apply-ws-fix fake-host --help.');
  if (positional[0] === 'merge-reports') throw new UsageError('merge-reports comes first, before its files', 'Run apply-ws-fix merge-reports --help.');
  const shardSpec = args.shard === undefined ? undefined : parseShard(args.shard);
  if (faults.length > 0 && !args.demo) throw new UsageError('--fault works only with --demo or fake-host');
  if (args.demo && runbook.id !== DEFAULT_RUNBOOK && !Object.hasOwn(runbook.params, 'url')) throw new UsageError(`--demo runs against the built-in fake host, which serves the ocapistaine project; runbook ${runbook.id} cannot be pointed at it`);
  if (args.demo) {
    const explicit = ['--host', '--port', '--user', '--identity', '--known-hosts', '--url', '--ssh-config', '--accept-new-host-key'].filter((flag) => argv.some((a) => a === flag || a.startsWith(`${flag}=`)));
    if (explicit.length > 0) throw new UsageError(`--demo runs against the built-in fake host: drop ${explicit.join(', ')}`);
  }
  const chosen = targetChoice(argv, args, layers);
  const fleet = chosen.hosts.length > 1 || chosen.file !== undefined;
  if (shardSpec !== undefined && (!fleet || args.demo || positional[0] === 'explain')) {
    throw new UsageError('--shard splits a fleet: it needs --hosts-file (or --host given several times)', 'Give the hosts file every shard shares: apply-ws-fix --hosts-file proxies.txt --shard 2/4 …');
  }
  const targets: TargetSpec[] = fleet ? await fleetTargets(chosen.hosts, chosen.file, penv.env, cwd) : [{ host: chosen.hosts[0] }];
  if (args.check && (args.rollback || args['dry-run'])) throw new UsageError('--check reads only: drop --rollback and --dry-run');
  const layered: Record<string, string> = {};
  for (const name of PARAM_FLAGS) {
    const value = args[name];
    if (value === undefined) continue;
    if (!declared(name)) throw new UsageError(`--${name}: runbook ${runbook.id} has no parameter ${name}`, `Its parameters: ${Object.keys(runbook.params).join(', ') || 'none'}.`);
    layered[name] = String(value);
  }
  const given = await paramsOf(runbook, layered, (args.param ?? []).map(String), layers.params, penv);
  const label = (name: string): string => ((PARAM_FLAGS as readonly string[]).includes(name) ? `--${name}` : `--param ${name}`);
  const explain = positional[0] === 'explain';
  // explain without a host plans nothing: a value needed only to apply may be left out (it shows "(not given)").
  const hostGiven = args.host !== undefined;
  const action = args.check ? 'check' : args.rollback || (explain && !hostGiven) ? 'rollback' : 'apply';
  const base = resolveParams(runbook, given, label, action);
  const runs: RunOptions[] = [];
  const wheres: string[] = [];
  for (const spec of targets) {
    // Each host resolves through the ssh config on its own; a hosts file's user/port win over the flags.
    // A hosts file's line is named by its file and line, not by the flag it stands in for.
    const inFile = spec.where !== undefined && !spec.where.startsWith('--');
    const named = (flag: string): string => (inFile ? `${spec.where}: the ${flag.slice(2)}` : flag);
    if (inFile && spec.host !== undefined && (spec.host.startsWith('-') || !isHostName(spec.host))) throw new UsageError(`${named('--host')} ${JSON.stringify(spec.host)} is not a host name or IP address`);
    if (inFile && spec.user !== undefined && !USER.test(spec.user)) throw new UsageError(`${named('--user')} ${JSON.stringify(spec.user)} is not a user name`);
    const target = await sshTarget({ ...args, host: spec.host, port: spec.port ?? numberText('port'), user: spec.user ?? args.user }, defaults, penv.env);
    if (target.host.startsWith('-') || !isHostName(target.host)) throw new UsageError(`--host ${JSON.stringify(target.host)} is not a host name or IP address`);
    if (!USER.test(target.user)) throw new UsageError(`--user ${JSON.stringify(target.user)} is not a user name`);
    let params: AnyParams = base;
    if (spec.url !== undefined) {
      if (!declared('url')) throw new UsageError(`${spec.where ?? 'a hosts file'}: the second column is the url parameter, and runbook ${runbook.id} has none`);
      params = resolveParams(runbook, { ...given, url: spec.url }, (name) => (name === 'url' ? named('--url') : label(name)), action);
    }
    wheres.push(spec.where ?? (spec.host !== undefined ? `--host ${spec.host}` : `${target.user}@${target.host}`));
    runs.push({
      action,
      dryRun: args['dry-run'],
      host: target.host,
      user: target.user,
      params,
      port: target.port,
      identity: target.identity,
      knownHosts: target.knownHosts,
      ...(target.ssh !== undefined ? { ssh: target.ssh } : {}),
      yes: args.yes,
      verbose: args.verbose,
      forceUnlock: args['force-unlock'],
      commit: args.commit,
      ...TIMING_DEFAULTS,
      settleMs: seconds(numberText('settle'), '--settle', 0),
      startTimeoutMs: seconds(numberText('start-timeout'), '--start-timeout', 1),
      connectTimeoutMs: seconds(numberText('connect-timeout'), '--connect-timeout', 1),
    });
  }
  // With --shard, the hosts of that shard only; the whole fleet is still checked below (a duplicate is refused by every shard).
  const shard = shardSpec === undefined ? undefined : cutShard(runs, shardSpec);
  const mine = (list: RunOptions[]): RunOptions[] => (shard === undefined ? list : shard.positions.map((i) => list[i]!));
  // A secret parameter is shown by its checksum label, never its value.
  if (args['print-config']) {
    const { describeSettings, printSettings } = await import('./print-config.js');
    return { kind: 'print-config', text: printSettings(describeSettings(mine(runs).map((run) => ({ ...run, params: printableParams(runbook, run.params) })), argv, layers, { hostsFile: args['hosts-file'], concurrency: String(args.concurrency), sshConfig: args['ssh-config'] }), args.json) };
  }
  if (explain) {
    if (fleet || args.demo) throw new UsageError('explain describes one host at most: drop --hosts-file, the extra --host and --demo');
    if (args.rollback || args.check || args['dry-run']) throw new UsageError('explain prints the procedure of an apply (with its rollback): drop --rollback, --check and --dry-run');
    return { kind: 'explain', runbook, options: { ...runs[0]!, action: 'apply' }, host: hostGiven };
  }
  if (fleet) {
    if (args.demo) throw new UsageError('--demo runs against one built-in fake host: drop --hosts-file and the extra --host');
    if (runs.length === 0) throw new UsageError(`${chosen.file ?? 'the hosts file'} names no host`);
    // Two runs on one project of one host would fight over its lock: refuse before connecting to either.
    const { duplicateTargets } = await import('../core/targets.js');
    const duplicates = await duplicateTargets(
      runs.map((r, i) => ({ where: wheres[i]!, host: r.host, port: r.port, user: r.user, project: runbook.project(r.params), jumped: (r.ssh?.jumps.length ?? 0) > 0 })),
    );
    if (duplicates.length > 0) {
      const described = duplicates.map((group) => `${group.map((t) => `${t.where} (${t.user}@${t.host}:${t.port})`).join(', ')} are one target: the same address, port and project ${group[0]!.project}`);
      throw new UsageError(described.join('; '), 'Name each host once: two runs on one host would fight over its lock.');
    }
    // One prompt per host would be a prompt nobody reads: several hosts change only with --yes.
    if (!args['dry-run'] && !args.check && !args.yes) throw new UsageError(`refusing to change ${runs.length} hosts without --yes`, 'Look first with --dry-run, then pass --yes.');
    const concurrency = /^[0-9]{1,3}$/.test(numberText('concurrency') ?? '') ? Number(numberText('concurrency')) : NaN;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) throw new UsageError(`--concurrency must be a whole number from 1 to 100, not ${JSON.stringify(numberText('concurrency'))}`);
    if (shard !== undefined && shard.positions.length === 0) return { kind: 'empty-shard', runbook, json: args.json, shard, action, dryRun: args['dry-run'] };
    return { kind: 'fleet', runbook, runs: mine(runs), json: args.json, concurrency, ...(shard !== undefined ? { shard } : {}) };
  }
  const options = runs[0]!;
  if (args.demo) return { kind: 'demo', runbook, options: { ...options, yes: true }, json: args.json, faults };
  if (!options.dryRun && !options.yes && !penv.interactive && options.action !== 'check') {
    throw new UsageError(
      `refusing to ${options.action === 'rollback' ? 'roll back' : 'change'} ${options.host} without a terminal to confirm on`,
      'Pass --yes to go ahead without a prompt, or --dry-run to see the plan.',
    );
  }
  return { kind: 'run', runbook, options, json: args.json, demo: false };
}
