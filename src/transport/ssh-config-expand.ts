// The expansions OpenSSH applies to file names in ssh_config: a leading `~`, then `%` tokens.

// `~` and `~/…` mean the home directory; `~user/…` is left alone (we do not read other users' homes).
export function expandTilde(path: string, home: string): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  return home.replace(/\/+$/, '') + path.slice(1) || '/';
}

// Like OpenSSH's percent_expand(): every `%x` must be a known token, so an unsupported one fails loudly, not silently.
export function expandTokens(text: string, values: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const token = text[++i];
    if (token === undefined) throw new Error(`"${text}" ends with a lone %`);
    const value = token === '%' ? '%' : values[token];
    if (value === undefined) {
      const known = [...Object.keys(values).map((k) => `%${k}`), '%%'].join(' ');
      throw new Error(`"${text}" uses %${token}, which is not supported here (supported: ${known})`);
    }
    out += value;
  }
  return out;
}
