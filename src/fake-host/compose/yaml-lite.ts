// A YAML subset big enough for compose files (block maps and lists, flow lists and maps, quoted and
// block scalars, comments); no yaml package is a dependency, and the fake host only reads its own fixture.

export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

// Parses a document; throws with a line number on what the subset does not cover.
export function parseYaml(source: string): YamlValue {
  const lines = toLines(source);
  const state = { lines, index: 0 };
  if (lines.length === 0) return null;
  return parseBlock(state, lines[0]?.indent ?? 0);
}

// Drops comments and blank lines but keeps raw lines for block scalars.
function toLines(source: string): Line[] {
  const result: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text.trim() === '---') return;
    const indent = text.length - text.trimStart().length;
    result.push({ indent, text: text.trimStart(), number: i + 1 });
  });
  return result;
}

// A # starts a comment at the line start or after a space, never inside quotes (which open a scalar).
function stripComment(raw: string): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if ((ch === '"' || ch === "'") && (i === 0 || /[\s[{,]/.test(raw[i - 1] ?? ''))) {
      quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(raw[i - 1] ?? ''))) {
      return raw.slice(0, i);
    }
  }
  return raw;
}

type State = { lines: Line[]; index: number };

// A block at one indent is either a list (lines start with "- ") or a map.
function parseBlock(state: State, indent: number): YamlValue {
  const first = state.lines[state.index];
  if (!first) return null;
  if (first.text === '-' || first.text.startsWith('- ')) return parseList(state, first.indent);
  return parseMap(state, indent);
}

// Block list items; an item may itself open a map ("- key: value").
function parseList(state: State, indent: number): YamlValue[] {
  const items: YamlValue[] = [];
  for (let line = state.lines[state.index]; line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = state.lines[state.index]) {
    const rest = line.text.slice(1).trimStart();
    if (rest === '') {
      state.index += 1;
      const next = state.lines[state.index];
      items.push(next && next.indent > indent ? parseBlock(state, next.indent) : null);
    } else if (keyValue(rest)) {
      const itemIndent = indent + (line.text.length - rest.length);
      state.lines[state.index] = { indent: itemIndent, text: rest, number: line.number };
      items.push(parseMap(state, itemIndent));
    } else {
      state.index += 1;
      items.push(parseScalarOrFlow(rest, line.number));
    }
  }
  return items;
}

// Block map entries at exactly `indent`.
function parseMap(state: State, indent: number): { [key: string]: YamlValue } {
  const map: { [key: string]: YamlValue } = {};
  for (let line = state.lines[state.index]; line && line.indent === indent; line = state.lines[state.index]) {
    const kv = keyValue(line.text);
    if (!kv) throw new Error(`yaml line ${line.number}: expected "key: value"`);
    state.index += 1;
    const [key, value] = kv;
    if (value === '|' || value === '>' || /^[|>][-+]?$/.test(value)) {
      map[key] = blockScalar(state, indent, value.startsWith('>'));
    } else if (value !== '') {
      map[key] = parseScalarOrFlow(value, line.number);
    } else {
      const next = state.lines[state.index];
      const nestedList = next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '));
      map[key] = next && (next.indent > indent || nestedList) ? parseBlock(state, next.indent) : null;
    }
  }
  return map;
}

// "key: value" or "key:" with a plain or quoted key; undefined when the line is not an entry.
function keyValue(text: string): [string, string] | undefined {
  const quoted = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')\s*:(?:\s+|$)(.*)$/.exec(text);
  if (quoted) return [quoted[1] ?? (quoted[2] ?? '').replace(/''/g, "'"), (quoted[3] ?? '').trim()];
  const plain = /^([^\s"'[{][^:]*?)\s*:(?:\s+(.*)|$)$/.exec(text);
  if (plain) return [plain[1] ?? '', (plain[2] ?? '').trim()];
  return undefined;
}

// Literal (|) or folded (>) text, taken from the lines indented deeper than the key.
function blockScalar(state: State, indent: number, folded: boolean): string {
  const parts: string[] = [];
  for (let line = state.lines[state.index]; line && line.indent > indent; line = state.lines[state.index]) {
    parts.push(line.text);
    state.index += 1;
  }
  return parts.join(folded ? ' ' : '\n') + '\n';
}

// Flow collections, quoted scalars and plain scalars (kept as strings; compose interpolates later).
function parseScalarOrFlow(text: string, lineNumber: number): YamlValue {
  const reader = { text, pos: 0 };
  const value = readFlow(reader, lineNumber, false);
  if (reader.text.slice(reader.pos).trim() !== '') throw new Error(`yaml line ${lineNumber}: trailing text`);
  return value;
}

type Reader = { text: string; pos: number };

// One flow value; inside [] or {} a plain scalar stops at , ] }.
function readFlow(r: Reader, lineNumber: number, nested: boolean): YamlValue {
  skipSpaces(r);
  const ch = r.text[r.pos];
  if (ch === '[') {
    r.pos += 1;
    const items: YamlValue[] = [];
    for (skipSpaces(r); r.text[r.pos] !== ']'; skipSpaces(r)) {
      if (r.pos >= r.text.length) throw new Error(`yaml line ${lineNumber}: unclosed [`);
      items.push(readFlow(r, lineNumber, true));
      skipSpaces(r);
      if (r.text[r.pos] === ',') r.pos += 1;
    }
    r.pos += 1;
    return items;
  }
  if (ch === '{') {
    r.pos += 1;
    const map: { [key: string]: YamlValue } = {};
    for (skipSpaces(r); r.text[r.pos] !== '}'; skipSpaces(r)) {
      if (r.pos >= r.text.length) throw new Error(`yaml line ${lineNumber}: unclosed {`);
      const key = String(readFlow(r, lineNumber, true) ?? '');
      skipSpaces(r);
      let value: YamlValue = null;
      if (r.text[r.pos] === ':') {
        r.pos += 1;
        value = readFlow(r, lineNumber, true);
      }
      map[key] = value;
      skipSpaces(r);
      if (r.text[r.pos] === ',') r.pos += 1;
    }
    r.pos += 1;
    return map;
  }
  if (ch === '"') return readDoubleQuoted(r, lineNumber);
  if (ch === "'") return readSingleQuoted(r, lineNumber);
  const stop = nested ? /[,\]}]|:(?=\s|$)/ : /$^/;
  const rest = r.text.slice(r.pos);
  const match = stop.exec(rest);
  const end = match ? match.index : rest.length;
  r.pos += end;
  const plain = rest.slice(0, end).trim();
  return plain === '' || plain === '~' || plain === 'null' ? null : plain;
}

// "..." with the usual backslash escapes.
function readDoubleQuoted(r: Reader, lineNumber: number): string {
  let out = '';
  for (r.pos += 1; r.pos < r.text.length; r.pos++) {
    const ch = r.text[r.pos];
    if (ch === '"') {
      r.pos += 1;
      return out;
    }
    if (ch === '\\') {
      r.pos += 1;
      const esc = r.text[r.pos] ?? '';
      out += ({ n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/' } as Record<string, string>)[esc] ?? esc;
    } else {
      out += ch;
    }
  }
  throw new Error(`yaml line ${lineNumber}: unclosed "`);
}

// '...' where '' is a quote.
function readSingleQuoted(r: Reader, lineNumber: number): string {
  let out = '';
  for (r.pos += 1; r.pos < r.text.length; r.pos++) {
    const ch = r.text[r.pos];
    if (ch === "'") {
      if (r.text[r.pos + 1] === "'") {
        out += "'";
        r.pos += 1;
        continue;
      }
      r.pos += 1;
      return out;
    }
    out += ch;
  }
  throw new Error(`yaml line ${lineNumber}: unclosed '`);
}

// Whitespace between flow tokens.
function skipSpaces(r: Reader): void {
  while (r.pos < r.text.length && /\s/.test(r.text[r.pos] ?? '')) r.pos += 1;
}
