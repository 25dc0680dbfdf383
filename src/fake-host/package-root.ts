import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The fixtures ship beside package.json; this finds them from src/ (vitest) and from dist/src/ (built).
export function findPackageRoot(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`fake host: no package.json above ${from}`);
    dir = parent;
  }
}

// The host's project files, copied into the fake HOME at start.
export function fixtureProjectDir(): string {
  return join(findPackageRoot(), 'fixtures', 'fake-host', 'vaettir');
}
