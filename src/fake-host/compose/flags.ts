// Cobra-style flag parsing, so the emulated CLI accepts and refuses what docker's does.

export interface FlagDef {
  long: string;
  short?: string;
  value?: boolean;
}

export interface ParsedFlags {
  has(long: string): boolean;
  value(long: string): string | undefined;
  values(long: string): string[];
  positionals: string[];
}

export class FlagError extends Error {}

// Parses flags; with interspersed=false the first positional ends flag parsing (exec/run: the
// container command follows).
export function parseFlags(args: readonly string[], defs: readonly FlagDef[], interspersed: boolean): ParsedFlags {
  const found = new Map<string, string[]>();
  const positionals: string[] = [];
  const add = (def: FlagDef, value: string): void => {
    found.set(def.long, [...(found.get(def.long) ?? []), value]);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const def = defs.find((d) => d.long === name);
      if (!def) throw new FlagError(`unknown flag: --${name}`);
      if (def.value) {
        if (eq !== -1) add(def, arg.slice(eq + 1));
        else if (i + 1 < args.length) add(def, args[++i] ?? '');
        else throw new FlagError(`flag needs an argument: --${name}`);
      } else {
        add(def, eq === -1 ? 'true' : arg.slice(eq + 1));
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] ?? '';
        const def = defs.find((d) => d.short === letter);
        if (!def) throw new FlagError(`unknown shorthand flag: '${letter}' in ${arg}`);
        if (!def.value) {
          add(def, 'true');
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest !== '') add(def, rest);
        else if (i + 1 < args.length) add(def, args[++i] ?? '');
        else throw new FlagError(`flag needs an argument: '${letter}' in ${arg}`);
        break;
      }
      continue;
    }
    if (!interspersed) {
      positionals.push(...args.slice(i));
      break;
    }
    positionals.push(arg);
  }
  return {
    has: (long) => found.has(long) && found.get(long)?.at(-1) !== 'false',
    value: (long) => found.get(long)?.at(-1),
    values: (long) => found.get(long) ?? [],
    positionals,
  };
}
