// nginx's config reader (ngx_conf_read_token + ngx_conf_parse), enough to fail where nginx fails and
// with nginx's messages and line numbers.

export interface Directive {
  name: string;
  args: string[];
  line: number; // where the directive ended (its ";" or "{"), which is where nginx reports errors
  block?: Directive[];
}

export class NginxConfigError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number | undefined,
  ) {
    super(detail);
  }
}

// Parses a whole file into directives; throws NginxConfigError like nginx's first [emerg].
export function parseNginx(text: string): Directive[] {
  const reader = { text, pos: 0, line: 1 };
  const root: Directive[] = [];
  const stack: Directive[][] = [root];
  let words: string[] = [];

  for (;;) {
    const token = nextToken(reader);
    const current = stack[stack.length - 1] ?? root;
    if (token.kind === 'eof') {
      if (words.length > 0) throw new NginxConfigError('unexpected end of file, expecting ";" or "}"', reader.line);
      if (stack.length > 1) throw new NginxConfigError('unexpected end of file, expecting "}"', reader.line);
      return root;
    }
    if (token.kind === 'word') {
      words.push(token.value);
      continue;
    }
    if (token.kind === ';' || token.kind === '{') {
      const [name, ...args] = words;
      if (name === undefined) throw new NginxConfigError(`unexpected "${token.kind}"`, reader.line);
      const directive: Directive = { name, args, line: reader.line };
      current.push(directive);
      words = [];
      if (token.kind === '{') {
        directive.block = [];
        stack.push(directive.block);
      }
      continue;
    }
    // "}"
    if (words.length > 0 || stack.length === 1) throw new NginxConfigError('unexpected "}"', reader.line);
    stack.pop();
  }
}

type Token = { kind: 'word'; value: string } | { kind: ';' | '{' | '}' | 'eof' };

interface Reader {
  text: string;
  pos: number;
  line: number;
}

// One token: a word (quoted or not, with quotes and escapes removed), a special character, or EOF.
function nextToken(r: Reader): Token {
  for (;;) {
    if (r.pos >= r.text.length) return { kind: 'eof' };
    const ch = r.text[r.pos] ?? '';
    if (ch === '\n') r.line += 1;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      r.pos += 1;
      continue;
    }
    if (ch === '#') {
      while (r.pos < r.text.length && r.text[r.pos] !== '\n') r.pos += 1;
      continue;
    }
    if (ch === ';' || ch === '{' || ch === '}') {
      r.pos += 1;
      return { kind: ch };
    }
    if (ch === '"' || ch === "'") return { kind: 'word', value: readQuoted(r, ch) };
    return { kind: 'word', value: readWord(r) };
  }
}

// A quoted word; after the closing quote nginx wants a space, ";" or "{".
function readQuoted(r: Reader, quote: string): string {
  let value = '';
  for (r.pos += 1; r.pos < r.text.length; r.pos++) {
    const ch = r.text[r.pos] ?? '';
    if (ch === '\n') r.line += 1;
    if (ch === '\\' && r.pos + 1 < r.text.length) {
      const next = r.text[r.pos + 1] ?? '';
      value += next === quote || next === '\\' ? next : ch + next;
      if (next === '\n') r.line += 1;
      r.pos += 1;
      continue;
    }
    if (ch === quote) {
      r.pos += 1;
      const after = r.text[r.pos];
      if (after !== undefined && !/[\s;{)]/.test(after)) throw new NginxConfigError(`unexpected "${after}"`, r.line);
      return value;
    }
    value += ch;
  }
  throw new NginxConfigError('unexpected end of file, expecting ";" or "}"', r.line);
}

// An unquoted word ends at space, ";" or "{", except the "{" of a "${var}".
function readWord(r: Reader): string {
  let value = '';
  let afterDollar = false;
  while (r.pos < r.text.length) {
    const ch = r.text[r.pos] ?? '';
    if (ch === '{' && afterDollar) {
      value += ch;
      r.pos += 1;
      afterDollar = false;
      continue;
    }
    if (/[\s;{]/.test(ch)) break;
    if (ch === '\\' && r.pos + 1 < r.text.length) {
      value += r.text[r.pos + 1] ?? '';
      r.pos += 2;
      afterDollar = false;
      continue;
    }
    afterDollar = ch === '$';
    value += ch;
    r.pos += 1;
  }
  return value;
}
