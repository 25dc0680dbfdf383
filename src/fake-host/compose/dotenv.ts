// Compose's .env format: KEY=VALUE lines, optional `export`, quotes, # comments.
export function parseDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    vars.set(match[1] ?? '', unquote(match[2] ?? ''));
  }
  return vars;
}

// "..." and '...' values lose their quotes; an unquoted value loses a trailing " # comment".
function unquote(value: string): string {
  const double = /^"((?:[^"\\]|\\.)*)"/.exec(value);
  if (double) return (double[1] ?? '').replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
  const single = /^'([^']*)'/.exec(value);
  if (single) return single[1] ?? '';
  return value.replace(/\s+#.*$/, '').trim();
}
