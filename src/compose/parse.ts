// Parsers of Compose output: `ps` as NDJSON (Compose >= 2.21), as one JSON array (older), or as the table.

export type ContainerState = 'running' | 'restarting' | 'exited' | 'created' | 'paused' | 'dead' | 'removing' | 'unknown';

export interface ContainerStatus {
  name: string;
  service: string;
  state: ContainerState;
  status: string;
  health: string;
  exitCode: number | null;
}

const STATES: readonly ContainerState[] = ['running', 'restarting', 'exited', 'created', 'paused', 'dead', 'removing'];

function asState(value: unknown): ContainerState {
  const lower = typeof value === 'string' ? value.toLowerCase() : '';
  return (STATES as readonly string[]).includes(lower) ? (lower as ContainerState) : 'unknown';
}

/** The state a human-readable STATUS implies (`Up 9 seconds`, `Restarting (1) 2 seconds ago`). */
export function stateFromStatus(status: string): ContainerState {
  const s = status.trim();
  if (/^Up\b/.test(s)) return /\(Paused\)/.test(s) ? 'paused' : 'running';
  if (/^Restarting\b/.test(s)) return 'restarting';
  if (/^Exited\b/.test(s)) return 'exited';
  if (/^Created\b/.test(s)) return 'created';
  if (/^Dead\b/.test(s)) return 'dead';
  if (/^Removal In Progress\b/i.test(s)) return 'removing';
  return 'unknown';
}

function fromJson(entry: Record<string, unknown>): ContainerStatus {
  const status = typeof entry['Status'] === 'string' ? entry['Status'] : '';
  const state = entry['State'] !== undefined ? asState(entry['State']) : stateFromStatus(status);
  const exitCode = typeof entry['ExitCode'] === 'number' ? entry['ExitCode'] : null;
  return {
    name: String(entry['Name'] ?? ''),
    service: String(entry['Service'] ?? ''),
    state,
    status,
    health: typeof entry['Health'] === 'string' ? entry['Health'] : '',
    exitCode,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `docker compose ps --format json`: accepts both NDJSON and a single JSON array; ignores stray lines. */
export function parsePsJson(stdout: string): ContainerStatus[] {
  const text = stdout.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('docker compose ps: expected a JSON array');
    return parsed.filter(isRecord).map(fromJson);
  }
  const result: ContainerStatus[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    const parsed: unknown = JSON.parse(trimmed);
    if (isRecord(parsed)) result.push(fromJson(parsed));
  }
  return result;
}

/** The `docker compose ps` table: columns start where their header starts (Compose pads with a tabwriter). */
export function parsePsTable(stdout: string): ContainerStatus[] {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  const names = header.trim().split(/\s{2,}|\s(?=[A-Z])/).filter(Boolean);
  const starts = names.map((name) => header.indexOf(name));
  const column = (line: string, name: string): string => {
    const index = names.indexOf(name);
    if (index < 0) return '';
    const start = starts[index] ?? 0;
    const end = index + 1 < starts.length ? starts[index + 1] : undefined;
    return line.slice(start, end).trim();
  };
  return lines.map((line) => {
    const status = column(line, 'STATUS');
    return { name: column(line, 'NAME'), service: column(line, 'SERVICE'), state: stateFromStatus(status), status, health: '', exitCode: null };
  });
}
