// The runbooks the CLI knows: every folder under runbooks/ that holds a runbook module, found at run time (so a
// new runbook is a new folder and nothing else), and any ES module a path names (its default export).
// A built-in runbook may also hold a meta.ts (its id, title, description, connection and params, which runbook.ts
// spreads into its definition): --help reads that, and loads none of the runbook's code (diff, ws, the step library).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import type { Runbook, RunbookMeta } from '../core/types.js';

/** The runbook `apply-ws-fix` runs without --runbook. */
export const DEFAULT_RUNBOOK = 'ocapistaine-ws-fix';

// runbooks/ beside src/: the sources under vitest, dist/runbooks when built.
const RUNBOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'runbooks');
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** The built-in runbooks' ids, from the folders that hold a runbook module. */
export function builtInIds(): string[] {
  if (!existsSync(RUNBOOKS_DIR)) return [];
  return readdirSync(RUNBOOKS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(RUNBOOKS_DIR, entry.name, `runbook.${ext}`)))
    .map((entry) => entry.name)
    .sort();
}

function isRunbook(value: unknown): value is Runbook {
  const r = value as Partial<Runbook> | undefined;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.apply === 'function' && typeof r.project === 'function' && typeof r.params === 'object';
}

async function importRunbook(url: string, shown: string): Promise<Runbook> {
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`cannot load the runbook ${shown}: ${(error as Error).message}`, 'A runbook module is an ES module (.mjs or "type": "module") whose default export is defineRunbook({ … }).');
  }
  if (!isRunbook(module.default)) throw new UsageError(`${shown} does not default-export a runbook`, 'Export it with: export default defineRunbook({ … }) (import { defineRunbook } from \'apply-ws-fix\').');
  return module.default;
}

// A runbook named by path (`./x.mjs`, `/abs/x.js`: anything with a slash) rather than by id.
const isPath = (nameOrPath: string): boolean => nameOrPath.includes('/') || nameOrPath.endsWith('.js') || nameOrPath.endsWith('.mjs');

// The folder of a built-in runbook by id, or a usage error naming the ones there are.
function builtInDir(id: string): string {
  const ids = builtInIds();
  if (!ids.includes(id)) {
    const near = ids.find((known) => known.startsWith(id) || id.startsWith(known));
    throw new UsageError(`unknown runbook ${JSON.stringify(id)}${near ? ` (did you mean ${near}?)` : ''}`, `Runbooks: ${ids.join(', ')}; or a path to a runbook module (./my-runbook.mjs). apply-ws-fix runbooks lists them.`);
  }
  return join(RUNBOOKS_DIR, id);
}

/** A runbook by id (a folder under runbooks/) or by path (`./x.mjs`, `/abs/x.js`: anything with a slash). */
export async function loadRunbook(nameOrPath: string, cwd: string): Promise<Runbook> {
  if (isPath(nameOrPath)) {
    const path = resolve(cwd, nameOrPath);
    if (!existsSync(path)) throw new UsageError(`--runbook ${nameOrPath}: no such file (${path})`);
    return importRunbook(pathToFileURL(path).href, nameOrPath);
  }
  return importRunbook(pathToFileURL(join(builtInDir(nameOrPath), `runbook.${ext}`)).href, nameOrPath);
}

function isMeta(value: unknown): value is RunbookMeta {
  const m = value as Partial<RunbookMeta> | undefined;
  return typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.title === 'string' && typeof m.description === 'string' && typeof m.connection === 'object' && typeof m.params === 'object';
}

/** A runbook as --help knows it: what it says about itself, and the whole runbook once a run needs it. */
export interface RunbookChoice {
  meta: RunbookMeta;
  load(): Promise<Runbook>;
}

/**
 * A runbook by id or path, as loadRunbook refuses or finds it, with its meta only where a built-in has a meta.ts:
 * its code (and diff, ws, ssh2 behind it) then loads at load(). A runbook by path, or without a meta.ts, loads now.
 */
export async function chooseRunbook(nameOrPath: string, cwd: string): Promise<RunbookChoice> {
  const metaPath = isPath(nameOrPath) ? undefined : join(builtInDir(nameOrPath), `meta.${ext}`);
  if (metaPath === undefined || !existsSync(metaPath)) {
    const runbook = await loadRunbook(nameOrPath, cwd);
    return { meta: runbook, load: () => Promise.resolve(runbook) };
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(metaPath).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`cannot load the runbook ${nameOrPath}: ${(error as Error).message}`);
  }
  if (!isMeta(module.default) || module.default.id !== nameOrPath) throw new Error(`internal: ${metaPath} does not default-export the meta of runbook ${nameOrPath}`);
  let loaded: Promise<Runbook> | undefined;
  return { meta: module.default, load: () => (loaded ??= loadRunbook(nameOrPath, cwd)) };
}

/** Every built-in runbook, loaded. */
export async function allRunbooks(): Promise<Runbook[]> {
  return Promise.all(builtInIds().map((id) => loadRunbook(id, process.cwd())));
}
