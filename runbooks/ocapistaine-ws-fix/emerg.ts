// nginx names the rendered file and a line; the entrypoint's envsubst keeps line numbers, so that is a template line.

const LOCATION = /\[(?:emerg|alert|crit|error)\].*? in \/etc\/nginx\/[\w.-]+:(\d+)/;

/** Each nginx error line, followed by the template line it points at when it names one. */
export function emergEvidence(text: string, template: Buffer): string[] {
  const lines = template.toString('utf8').split('\n');
  const seen = new Set<string>();
  const evidence: string[] = [];
  for (const raw of text.split('\n')) {
    if (!/\[(emerg|alert|crit|error)\]/.test(raw)) continue;
    const line = raw.replace(/^.*?\|\s*/, '').trim();
    if (seen.has(line)) continue;
    seen.add(line);
    const at = LOCATION.exec(line);
    const number = at ? Number(at[1]) : undefined;
    const source = number !== undefined ? lines[number - 1] : undefined;
    evidence.push(source !== undefined ? `${line}\n    template line ${number}: ${source.trim()}` : line);
  }
  return evidence.slice(0, 5);
}
