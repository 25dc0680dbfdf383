// Finds the body of an nginx block, so a directive is looked for where it acts (in `location /`, not anywhere).

/** The text between the braces of the first block whose opening line matches `opening`, or undefined. */
export function blockBody(config: string, opening: RegExp): string | undefined {
  const match = opening.exec(config);
  if (match === null) return undefined;
  const start = config.indexOf('{', match.index + match[0].length - 1);
  if (start < 0) return undefined;
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < config.length; i++) {
    const c = config[i];
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '#') {
      const end = config.indexOf('\n', i);
      i = end < 0 ? config.length : end;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return config.slice(start + 1, i);
  }
  return undefined;
}
