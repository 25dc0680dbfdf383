// One key of a dotenv file set to a value, every other byte kept (comments, order, quoting, other secrets, CRLF,
// a missing final newline), written as a replaced file: a backup, a compare-and-swap atomic write, an undo.
// A secret's value never appears in a diff, a journal or a command line: it travels on stdin only.
import type { ComposeTarget } from '../compose/commands.js';
import { StartError } from '../errors.js';
import { sha256 } from '../lib/checksum.js';
import { unifiedDiff } from '../lib/diff.js';
import type { Fact, Step } from '../core/types.js';
import { RemotePath } from '../shell/quote.js';
import { composeServicesFact, composeVersionFact, containerFact } from './compose.js';
import { fileFact, fileReplace, type FileReplaceOptions } from './file-replace.js';

const SAFE = /^[A-Za-z0-9_./:@%+=,~-]*$/;

/** The line of `key` (`KEY=…`, `export KEY=…`, spaces around `=`), by index; -1 when absent. Throws when it is ambiguous. */
function keyLines(lines: readonly string[], key: string): number[] {
  const pattern = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`);
  return lines.flatMap((line, i) => (pattern.test(line) ? [i] : []));
}

// The value as the file will hold it: in the quotes the old value used, bare when that is safe, else single quotes.
function spell(value: string, oldQuote: string | undefined): string {
  if (/[\r\n\0]/.test(value)) throw new StartError('the new value spans lines; a dotenv line cannot hold it', 'bad-value');
  if (oldQuote === '"' && !/["\\$`]/.test(value)) return `"${value}"`;
  if (oldQuote === "'" && !value.includes("'")) return `'${value}'`;
  if (SAFE.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  throw new StartError('the new value holds both a quote and characters that need quoting; a dotenv line cannot hold it safely', 'bad-value');
}

/** The file with `key` set to `value`; every other byte as it was. */
export function setDotenvKey(file: Buffer, key: string, value: string): Buffer {
  const text = file.toString('utf8');
  // Lines with their own endings, so CRLF and a missing final newline survive.
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const found = keyLines(lines, key);
  if (found.length > 1) throw new StartError(`${key} is set on ${found.length} lines (${found.map((i) => i + 1).join(', ')}); refusing to guess which one counts`, 'dotenv-ambiguous', `Keep one ${key}= line in the file, then run again.`);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (found.length === 0) {
    const sep = text === '' || text.endsWith('\n') ? '' : eol;
    return Buffer.from(`${text}${sep}${key}=${spell(value, undefined)}${eol}`, 'utf8');
  }
  const index = found[0]!;
  const line = lines[index]!;
  const ending = /\r?\n$/.exec(line)?.[0] ?? '';
  const body = line.slice(0, line.length - ending.length);
  const eq = body.indexOf('=');
  const old = body.slice(eq + 1);
  const lead = /^\s*/.exec(old)![0];
  const quote = /^\s*(['"])/.exec(old)?.[1];
  lines[index] = `${body.slice(0, eq + 1)}${lead}${spell(value, quote)}${ending}`;
  return Buffer.from(lines.join(''), 'utf8');
}

/** The value `key` has in a dotenv file (quotes removed, as Compose reads it), or undefined when it is not set. */
export function dotenvValue(file: Buffer, key: string): string | undefined {
  const lines = file.toString('utf8').split('\n');
  const found = keyLines(lines, key);
  if (found.length !== 1) return undefined;
  const line = lines[found[0]!]!.replace(/\r$/, '');
  const raw = line.slice(line.indexOf('=') + 1).trim();
  const quoted = /^(['"])(.*)\1$/.exec(raw);
  if (quoted) return quoted[1] === '"' ? quoted[2]!.replace(/\\(["\\$`])/g, '$1') : quoted[2]!;
  return raw.replace(/\s+#.*$/, '');
}

/** The file's lines with `key`'s value replaced by its checksum label: what a diff of a secret may show. */
export function maskDotenvKey(file: Buffer, key: string): string {
  const pattern = new RegExp(`^(\\s*(?:export\\s+)?${key}\\s*=\\s*)(.*?)(\\r?)$`, 'gm');
  return file.toString('utf8').replace(pattern, (_m, head: string, value: string, cr: string) => {
    const bare = value.replace(/^(['"])(.*)\1$/, '$2');
    return `${head}<secret, sha256 ${sha256(Buffer.from(bare, 'utf8')).slice(0, 12)}…>${cr}`;
  });
}

/** The file with the value of every key but `key` shown as ***: a diff's context lines never carry another secret. */
export function maskOtherKeys(file: Buffer, key: string): Buffer {
  const pattern = /^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*)(.*?)(\r?)$/gm;
  return Buffer.from(file.toString('utf8').replace(pattern, (line, head: string, name: string, value: string, cr: string) => (name === key || value === '' ? line : `${head}***${cr}`)), 'utf8');
}

export interface DotenvKeyOptions extends Omit<FileReplaceOptions, 'content' | 'diff'> {
  key: string;
  value: string;
  secret?: boolean;
}

/** The backup and write steps that set one key of a dotenv file. */
export function dotenvKey(options: DotenvKeyOptions): [Step, Step] {
  const { key, value, secret } = options;
  return fileReplace({
    newWhat: secret ? 'the new value' : `${key}=${value}`,
    ...options,
    // A .env holds other secrets too: its bytes are never printed, whatever the key.
    sensitive: true,
    content: (current) => setDotenvKey(current, key, value),
    // Only the key's own line is ever shown; a secret's value not even there (its checksum instead).
    diff: (path, before, after) => {
      const shown = (file: Buffer): Buffer => maskOtherKeys(secret ? Buffer.from(maskDotenvKey(file, key)) : file, key);
      return unifiedDiff(path, shown(before), shown(after));
    },
  });
}

/** A compose project whose service reads a variable from the project's .env: where things are, and the facts read first. */
export interface DotenvComposeProject {
  dir: RemotePath;
  env: RemotePath;
  target: ComposeTarget;
  facts: {
    env: Fact<Buffer>;
    version: Fact<string>;
    services: Fact<string[]>;
    container: ReturnType<typeof containerFact>;
  };
}

/** The project in `dir` (its .env, Compose v2 working, `service` one of its services, its container), for `variable`. */
export function dotenvComposeProject(p: { dir: string; service: string }, profiles: readonly string[], variable: string): DotenvComposeProject {
  const dir = new RemotePath(p.dir);
  const env = dir.join('.env');
  const target: ComposeTarget = { dir, service: p.service, profiles };
  return {
    dir,
    env,
    target,
    facts: {
      env: fileFact(env, (why) => new StartError(`${env.path} cannot be read: ${why}`, 'precondition-env', `The compose service reads ${variable} from .env in the project directory: check --dir.`)),
      version: composeVersionFact(target, 'the SSH user'),
      services: composeServicesFact(target),
      container: containerFact(target),
    },
  };
}
