// argv of `apply-ws-fix merge-reports FILE…` → a command. Its own parser: it reads report files, not hosts, so a run
// flag given to it (--hosts-file, --yes) is refused instead of silently ignored.
import yargs from 'yargs';
import { UsageError } from '../errors.js';
import { suggestForUnknown } from './suggest.js';

export interface MergeReportsCommand {
  kind: 'merge-reports';
  /** The shards' --json report files. */
  files: string[];
  json: boolean;
  /** Merge the shards given even when some are missing (they are named, and their hosts counted as not reported). */
  partial: boolean;
}

export const MERGE_REPORTS_USAGE = [
  'apply-ws-fix merge-reports [--json] [--partial] FILE…',
  '',
  'Merges the --json reports of a fleet\'s shards (one CI job a shard, each running',
  'apply-ws-fix --hosts-file F --shard I/N --json > shard-I.json) into the fleet: the table a fleet run',
  'prints, and the exit code of its worst host. With --json, the fleet\'s array of reports on stdout, as',
  'a fleet run without --shard prints it.',
  '',
  'Every shard, 1 to N, must be given once, all cut from one fleet (the same hosts, by digest) and run',
  'with the same runbook and action. A missing, repeated or mismatched shard is refused (exit 64);',
  '--partial merges the shards given and names the missing ones.',
  '',
  '  apply-ws-fix merge-reports shard-*.json',
  '  apply-ws-fix merge-reports --json shard-*.json > fleet.json',
].join('\n');

/** Parses `merge-reports …` (argv[0] is the word merge-reports); throws UsageError on anything invalid. */
export async function parseMergeArgs(argv: readonly string[]): Promise<MergeReportsCommand | { kind: 'help'; text: string }> {
  const parser = yargs([...argv.slice(1)])
    .scriptName('apply-ws-fix')
    .usage(MERGE_REPORTS_USAGE)
    .parserConfiguration({ 'camel-case-expansion': false })
    .option('json', { type: 'boolean', default: false, describe: 'print the merged fleet\'s reports as one JSON array on stdout (the table goes to stderr)' })
    .option('partial', { type: 'boolean', default: false, describe: 'merge the shards given even if some are missing; the missing ones are named' })
    // Unknown flags are refused; the words are the files.
    .strictOptions()
    .help(false)
    .version(false)
    .option('help', { type: 'boolean', alias: 'h', describe: 'show this help' })
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      if (error instanceof UsageError) throw error;
      const text = message ?? error?.message ?? 'bad arguments';
      const hint = suggestForUnknown(text, ['json', 'partial', 'help'], [], argv);
      throw new UsageError(text, `${hint ? `${hint} ` : ''}Run apply-ws-fix merge-reports --help.`);
    });
  const args = await parser.parseAsync();
  if (args.help) return { kind: 'help', text: await parser.getHelp() };
  const files = args._.map(String);
  if (files.length === 0) throw new UsageError('merge-reports needs the shards\' report files', 'For example: apply-ws-fix merge-reports shard-*.json');
  return { kind: 'merge-reports', files, json: args.json, partial: args.partial };
}
