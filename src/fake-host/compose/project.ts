import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDotenv } from './dotenv.js';
import { interpolate } from './interpolate.js';
import { parseYaml, type YamlValue } from './yaml-lite.js';

export interface ServiceDef {
  name: string;
  build?: { context: string; dockerfile: string };
  image?: string;
  profiles: string[];
  environment: Array<[string, string]>;
  containerName: string;
  configHash: string;
}

export interface ComposeProject {
  dir: string;
  file: string;
  name: string;
  services: Map<string, ServiceDef>;
  warnings: string[];
}

export interface ProjectSelection {
  files: string[];
  projectDirectory?: string;
  projectName?: string;
  envFile?: string;
}

export class ComposeError extends Error {}

const FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

// Finds and reads the compose project the way `docker compose` does from a working directory.
export function loadProject(pwd: string, selection: ProjectSelection): ComposeProject {
  const file = findComposeFile(pwd, selection);
  const dir = selection.projectDirectory ? resolve(pwd, selection.projectDirectory) : dirname(file);
  const envFile = selection.envFile ? resolve(pwd, selection.envFile) : join(dir, '.env');
  const vars = existsSync(envFile) ? parseDotenv(readFileSync(envFile, 'utf8')) : new Map<string, string>();
  const warnings: string[] = [];
  const warn = (name: string): void => {
    const line = `WARN[0000] The "${name}" variable is not set. Defaulting to a blank string. \n`;
    if (!warnings.includes(line)) warnings.push(line);
  };
  let doc: YamlValue;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ComposeError(`yaml: ${(error as Error).message.replace(/^yaml /, '')}`);
  }
  if (!isMap(doc)) throw new ComposeError(`validating ${file}: top-level object must be a mapping`);
  const resolved = interpolateDeep(doc, vars, warn) as Record<string, YamlValue>;
  const name = normalizeName(
    selection.projectName ?? (typeof resolved.name === 'string' ? resolved.name : basename(dir)),
  );
  const services = new Map<string, ServiceDef>();
  const rawServices = resolved.services;
  if (!isMap(rawServices)) throw new ComposeError(`validating ${file}: services must be a mapping`);
  for (const [serviceName, raw] of Object.entries(rawServices)) {
    services.set(serviceName, toService(name, serviceName, isMap(raw) ? raw : {}, dir));
  }
  return { dir, file, name, services, warnings };
}

// -f wins; otherwise the first known file name in $PWD or any parent, as Compose searches.
function findComposeFile(pwd: string, selection: ProjectSelection): string {
  if (selection.files.length > 0) {
    const file = resolve(pwd, selection.files[0] ?? '');
    if (!existsSync(file)) throw new ComposeError(`open ${file}: no such file or directory`);
    return file;
  }
  let dir = selection.projectDirectory ? resolve(pwd, selection.projectDirectory) : pwd;
  for (;;) {
    for (const name of FILE_NAMES) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir || selection.projectDirectory) break;
    dir = parent;
  }
  throw new ComposeError('no configuration file provided: not found');
}

// The fields the emulator uses, plus Compose's config hash (the service minus its build section).
function toService(project: string, name: string, raw: Record<string, YamlValue>, dir: string): ServiceDef {
  const build = raw.build;
  let buildDef: ServiceDef['build'];
  if (typeof build === 'string') {
    buildDef = { context: resolve(dir, build), dockerfile: resolve(dir, build, 'Dockerfile') };
  } else if (isMap(build)) {
    const context = resolve(dir, typeof build.context === 'string' ? build.context : '.');
    const dockerfile = typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile';
    buildDef = { context, dockerfile: isAbsolute(dockerfile) ? dockerfile : join(context, dockerfile) };
  }
  const { build: _ignored, ...hashed } = raw;
  return {
    name,
    ...(buildDef ? { build: buildDef } : {}),
    ...(typeof raw.image === 'string' ? { image: raw.image } : {}),
    profiles: Array.isArray(raw.profiles) ? raw.profiles.map(String) : [],
    environment: toEnvironment(raw.environment),
    containerName: typeof raw.container_name === 'string' ? raw.container_name : `${project}-${name}-1`,
    configHash: createHash('sha256').update(JSON.stringify(hashed)).digest('hex'),
  };
}

// environment: as a map or as a list of KEY=VALUE.
function toEnvironment(raw: YamlValue | undefined): Array<[string, string]> {
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      const text = String(item ?? '');
      const eq = text.indexOf('=');
      return eq === -1 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
    });
  }
  if (isMap(raw)) return Object.entries(raw).map(([key, value]) => [key, value === null ? '' : String(value)]);
  return [];
}

// Every string in the document goes through interpolation, as Compose does before validating.
function interpolateDeep(
  value: YamlValue,
  vars: ReadonlyMap<string, string>,
  warn: (name: string) => void,
): YamlValue {
  if (typeof value === 'string') {
    try {
      return interpolate(value, vars, warn);
    } catch (error) {
      throw new ComposeError((error as Error).message);
    }
  }
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, vars, warn));
  if (isMap(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars, warn)]));
  }
  return value;
}

// Compose lower-cases project names and keeps only [a-z0-9_-].
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

// Narrowing helper for parsed YAML.
export function isMap(value: YamlValue | undefined): value is { [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
