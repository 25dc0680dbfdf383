// argv of `apply-ws-fix fake-host …` → a command. Its own parser, so its --help lists only its own flags and a run
// flag given to it (--dry-run, --host) is refused instead of silently ignored.
import yargs from 'yargs';
import { UsageError } from '../errors.js';

export interface FakeHostCommand {
  kind: 'fake-host';
  /** 0: any free port. */
  port: number;
  faults: string[];
  streamlit: 'seed' | 'tornado';
  json: boolean;
  /** Written (atomically) with the JSON description once the host serves; removed when it stops. */
  readyFile: string | undefined;
  /** The longest wait for the host to start serving. */
  readyTimeoutMs: number;
  /** After `--`: run this against the host, then stop; empty: serve until SIGINT/SIGTERM. */
  command: string[];
}

export const FAKE_HOST_USAGE = [
  'apply-ws-fix fake-host [options] [-- <command> [args…]]',
  '',
  'Serves the built-in fake host (real SSH on 127.0.0.1, a Compose emulator, the proxy\'s public URL).',
  '',
  'With -- <command>: runs the command against the host, with the target in APPLY_WS_FIX_HOST, _PORT, _USER,',
  '_IDENTITY, _KNOWN_HOSTS, _URL, _DIR, _SERVICE and _SSH_CONFIG (so a plain `apply-ws-fix --dry-run` inside it',
  'reaches the host), then stops the host and exits with the command\'s exit code. The command runs in a',
  'process group of its own, and every process left in it is killed when the command ends or on SIGINT/SIGTERM.',
  '',
  'Without a command: serves until SIGINT/SIGTERM, after printing how to reach the host (one JSON line with --json).',
  '',
  '  apply-ws-fix fake-host -- sh -ec \'apply-ws-fix --dry-run; apply-ws-fix --yes\'',
  '  apply-ws-fix fake-host --fault upstream-down -- apply-ws-fix --yes --json',
  '  apply-ws-fix fake-host --json --ready-file /tmp/fake-host.json &',
].join('\n');

/** Splits argv at the first `--`: what comes after is a command, never a flag of ours. */
export function splitCommand(argv: readonly string[]): { own: string[]; command: string[] | undefined } {
  const at = argv.indexOf('--');
  return at < 0 ? { own: [...argv], command: undefined } : { own: argv.slice(0, at), command: argv.slice(at + 1) };
}

/** `fake-host`'s parser; with `help: true` in the result's place the caller prints its help. */
function fakeHostParser(argv: readonly string[], faultNames: readonly string[]) {
  return yargs([...argv])
    .scriptName('apply-ws-fix')
    .usage(FAKE_HOST_USAGE)
    .option('port', { type: 'number', defaultDescription: 'a free port', describe: 'the SSH port to listen on (127.0.0.1)' })
    .option('fault', { type: 'array', string: true, default: [] as string[], describe: `inject a fault, several allowed (${faultNames.join(', ')})` })
    .option('streamlit', { type: 'string', choices: ['seed', 'tornado'], default: 'seed', describe: 'answer plain requests with the 426 a manual curl check expects (seed) or as real Streamlit does (400/405)' })
    .option('json', { type: 'boolean', default: false, describe: 'without a command: print one JSON line (host, port, user, identity, knownHosts, url, …)' })
    .option('ready-file', { type: 'string', describe: 'once the host serves, write that JSON line to FILE (atomically); removed when the host stops' })
    .option('ready-timeout', { type: 'number', default: 30, describe: 'seconds the host may take to start; then exit 3' })
    .strict()
    .help(false)
    .version(false)
    .option('help', { type: 'boolean', alias: 'h', describe: 'show this help' })
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError(message ?? error?.message ?? 'bad arguments', 'Run apply-ws-fix fake-host --help.');
    });
}

/** Parses `fake-host …` (argv[0] is the word fake-host); throws UsageError on anything invalid. */
export async function parseFakeHostArgs(argv: readonly string[], faultNames: readonly string[]): Promise<FakeHostCommand | { kind: 'help'; text: string }> {
  const { own, command } = splitCommand(argv.slice(1));
  const parser = fakeHostParser(own, faultNames);
  const args = await parser.parseAsync();
  if (args.help) return { kind: 'help', text: await parser.getHelp() };
  const extra = args._.map(String);
  if (extra.length > 0) throw new UsageError(`fake-host takes no argument ${JSON.stringify(extra[0])}`, 'To run a command against the host, put it after --: apply-ws-fix fake-host -- <command>');
  if (command !== undefined && command.length === 0) throw new UsageError('fake-host: nothing after --', 'Give the command to run: apply-ws-fix fake-host -- <command> [args…]');
  const faults = args.fault.flatMap((f) => String(f).split(',')).filter(Boolean);
  for (const fault of faults) {
    if (!faultNames.includes(fault)) throw new UsageError(`unknown fault ${JSON.stringify(fault)}`, `Faults: ${faultNames.join(', ')}`);
  }
  const port = args.port ?? 0;
  if (args.port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new UsageError(`--port must be a whole number from 1 to 65535, not ${JSON.stringify(rawValue(own, '--port') ?? args.port)}`);
  }
  const timeout = args['ready-timeout'];
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--ready-timeout must be a number of seconds > 0, not ${JSON.stringify(rawValue(own, '--ready-timeout') ?? timeout)}`);
  if (args['ready-file'] === '') throw new UsageError('--ready-file needs a file name');
  return {
    kind: 'fake-host',
    port,
    faults,
    streamlit: args.streamlit === 'tornado' ? 'tornado' : 'seed',
    json: args.json,
    readyFile: args['ready-file'],
    readyTimeoutMs: Math.round(timeout * 1000),
    command: command ?? [],
  };
}

/** The text given after a flag (`--flag value` or `--flag=value`), for messages about a value yargs turned into NaN. */
export function rawValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = argv.length - 1; i >= 0; i--) {
    const arg = argv[i]!;
    if (arg === flag) return argv[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}
