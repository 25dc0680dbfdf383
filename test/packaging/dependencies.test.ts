// What the installed CLI imports at run time must be a dependency, and what only tests use must not be one:
// `npm install -g` then pulls the runtime's packages only (execa and its tree stay out).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const ROOT = packageRoot();
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

// The package a bare specifier names: 'ssh2' of 'ssh2/lib/x', '@scope/name' of '@scope/name/sub'.
const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

function importsUnder(dir: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.ts$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const specifier = m[1] ?? m[2]!;
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = packageOf(specifier);
      found.set(name, [...(found.get(name) ?? []), relative(ROOT, file)]);
    }
  }
  return found;
}

describe('dependencies', () => {
  it('every package src/ and runbooks/ import is a runtime dependency', () => {
    const imported = new Map([...importsUnder(join(ROOT, 'src')), ...importsUnder(join(ROOT, 'runbooks'))]);
    expect(imported.size).toBeGreaterThan(3);
    // Type-only packages (@types/*) never load at run time; everything else must be installed with the package.
    const missing = [...imported.keys()].filter((name) => !(name in PKG.dependencies));
    expect(missing.map((name) => `${name} (imported by ${imported.get(name)!.join(', ')})`)).toEqual([]);
  });

  it('execa, which only the tests use, is a devDependency and nothing under src/ imports it', () => {
    expect(PKG.dependencies).not.toHaveProperty('execa');
    expect(PKG.devDependencies).toHaveProperty('execa');
    expect(importsUnder(join(ROOT, 'src')).has('execa')).toBe(false);
  });

  it('every runtime dependency is used by src/ or runbooks/', () => {
    const imported = new Set([...importsUnder(join(ROOT, 'src')).keys(), ...importsUnder(join(ROOT, 'runbooks')).keys()]);
    expect(Object.keys(PKG.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });
});
