// Container env and compose .env hold secrets: any NAME=value we print is masked unless allowed.

// A whole line `NAME=value` (env, .env), and an ENV_NAME=value token inside a line (a log line's prefix before it).
// A dotenv line may put spaces around its `=` (Compose accepts `NAME = value`).
const ASSIGNMENT_LINE = /^([ \t]*(?:export[ \t]+)?)([A-Za-z_][A-Za-z0-9_]*)([ \t]*=[ \t]*)(.*)$/gm;
// The value may be quoted (`NAME="a b"`, `NAME='x'`): the quotes stay, what is between them is masked.
const ASSIGNMENT_TOKEN = /(^|[\s|:,;"'(])([A-Z][A-Z0-9_]+)=("[^"\n]*"|'[^'\n]*'|[^\s"',;)]+)/g;

/** Replaces the value of every NAME=value whose NAME is not in `allowed` with ***. */
export function maskSecrets(text: string, allowed: readonly string[] = []): string {
  const keep = (name: string, value: string): boolean => allowed.includes(name) || value === '' || value === '***' || /^(["'])(\*\*\*)?\1$/.test(value);
  const masked = (value: string): string => (/^["']/.test(value) ? `${value[0]}***${value[0]}` : '***');
  return text
    .replace(ASSIGNMENT_LINE, (line, prefix: string, name: string, eq: string, value: string) => (keep(name, value) ? line : `${prefix}${name}${eq}***`))
    .replace(ASSIGNMENT_TOKEN, (token, before: string, name: string, value: string) => (keep(name, value) ? token : `${before}${name}=${masked(value)}`));
}
