// The runbooks the CLI knows: every folder under runbooks/ that holds a runbook module, found at run time (so a
// new runbook is a new folder and nothing else), and any ES module a path names (its default export).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import type { Runbook } from '../core/types.js';

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

/** A runbook by id (a folder under runbooks/) or by path (`./x.mjs`, `/abs/x.js`: anything with a slash). */
export async function loadRunbook(nameOrPath: string, cwd: string): Promise<Runbook> {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.js') || nameOrPath.endsWith('.mjs')) {
    const path = resolve(cwd, nameOrPath);
    if (!existsSync(path)) throw new UsageError(`--runbook ${nameOrPath}: no such file (${path})`);
    return importRunbook(pathToFileURL(path).href, nameOrPath);
  }
  const ids = builtInIds();
  if (!ids.includes(nameOrPath)) {
    const near = ids.find((id) => id.startsWith(nameOrPath) || nameOrPath.startsWith(id));
    throw new UsageError(`unknown runbook ${JSON.stringify(nameOrPath)}${near ? ` (did you mean ${near}?)` : ''}`, `Runbooks: ${ids.join(', ')}; or a path to a runbook module (./my-runbook.mjs). apply-ws-fix runbooks lists them.`);
  }
  return importRunbook(pathToFileURL(join(RUNBOOKS_DIR, nameOrPath, `runbook.${ext}`)).href, nameOrPath);
}

/** Every built-in runbook, loaded. */
export async function allRunbooks(): Promise<Runbook[]> {
  return Promise.all(builtInIds().map((id) => loadRunbook(id, process.cwd())));
}
