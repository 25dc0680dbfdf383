// One ssh_config(5) line to a keyword and its arguments, split the way OpenSSH's readconf.c and argv_split() do.

export interface SshConfigLine {
  /** Lowercased: keywords are case-insensitive. */
  keyword: string;
  args: string[];
  /** The text after the keyword and its separator, as written (ProxyCommand keeps it whole, quotes and all). */
  rest: string;
}

// argv_split(): quotes group, backslash escapes quotes, backslashes and (outside quotes) spaces; `#` starting a word ends the line.
function splitArguments(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < text.length; i++) {
      const ch = text[i]!;
      const next = text[i + 1];
      if (ch === '\\' && (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' '))) {
        arg += next;
        i++;
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') throw new Error('unterminated quote');
    args.push(arg);
  }
  return args;
}

// Accepts `Key value`, `Key=value` and `Key = value`; returns undefined for blank and comment lines.
export function splitConfigLine(raw: string): SshConfigLine | undefined {
  const text = raw.replace(/[ \t\r\n\f]+$/, '').replace(/^[ \t]+/, '');
  if (text === '' || text.startsWith('#')) return undefined;
  const end = text.search(/[ \t=]/);
  const keyword = (end < 0 ? text : text.slice(0, end)).toLowerCase();
  // Only one `=` may stand between keyword and value, with any blanks around it.
  const rest = end < 0 ? '' : text.slice(end).replace(/^[ \t]*=?[ \t]*/, '');
  return { keyword, args: splitArguments(rest), rest };
}
