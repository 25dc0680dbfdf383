// Compose's variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$.
// Unset variables become "" with the warning Compose prints; required ones throw.
export function interpolate(
  text: string,
  vars: ReadonlyMap<string, string>,
  warn: (name: string) => void,
): string {
  return text.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_whole, dollar: string, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (dollar === '$') return '$';
      const name = braced ?? bare ?? '';
      const value = vars.get(name);
      const unsetOrEmpty = value === undefined || (op?.startsWith(':') === true && value === '');
      if (op?.endsWith('-')) return unsetOrEmpty ? (arg ?? '') : (value ?? '');
      if (op?.endsWith('?')) {
        if (unsetOrEmpty) throw new Error(`required variable ${name} is missing a value: ${arg ?? ''}`);
        return value ?? '';
      }
      if (value === undefined) warn(name);
      return value ?? '';
    },
  );
}
