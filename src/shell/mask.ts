// Container env and compose .env hold secrets: any NAME=value we print is masked unless allowed.

const ASSIGNMENT = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm;

/** Replaces the value of every NAME=value line whose NAME is not in `allowed` with ***. */
export function maskSecrets(text: string, allowed: readonly string[] = []): string {
  return text.replace(ASSIGNMENT, (line, prefix: string, name: string, value: string) =>
    allowed.includes(name) || value === '' ? line : `${prefix}${name}=***`,
  );
}
