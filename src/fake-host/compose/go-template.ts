// Go templates, the shapes people use with inspect and ps: {{.A.B}}, {{json .A.B}}, {{json .}}; text kept.
// undefined when the template needs more than that.
export function renderTemplate(format: string, object: Record<string, unknown>): string | undefined {
  const out = format.replace(/\{\{\s*(json\s+)?((?:\.[A-Za-z0-9_]+)+|\.)\s*\}\}/g, (_m, json?: string, path?: string) => {
    let value: unknown = object;
    for (const key of (path ?? '.').split('.').filter(Boolean)) {
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (json) return JSON.stringify(value ?? null);
    if (value === undefined) return '<no value>';
    if (Array.isArray(value)) return `[${value.join(' ')}]`;
    if (typeof value === 'object' && value !== null) return `map[${Object.entries(value).map(([k, v]) => `${k}:${String(v)}`).join(' ')}]`;
    return String(value);
  });
  return /\{\{/.test(out) ? undefined : out;
}
