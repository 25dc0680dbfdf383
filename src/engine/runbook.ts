// The data a runbook gives the engine: defaults, the desired file, and what "serving it" means.

export interface RunbookDefaults {
  host: string;
  port: number;
  user: string;
  dir: string;
  service: string;
  url: string;
}

/** A directive the rendered config must carry, named for the report. */
export interface RequiredDirective {
  name: string;
  pattern: RegExp;
  /** The opening line of the block it must stand in; the whole config when absent. */
  within?: RegExp;
}

export interface Runbook {
  id: string;
  title: string;
  defaults: RunbookDefaults;
  /** The config to install, byte for byte. */
  desiredTemplateFile: string;
  /** The template's path relative to the project directory, for a service. */
  templatePath(service: string): string;
  /** `--profile` flags for `up`, as the runbook's operator types them. */
  composeProfiles: readonly string[];
  /** The only variable the entrypoint substitutes; the only env value ever printed. */
  targetVariable: string;
  /** Where the entrypoint writes the rendered config in the container. */
  renderedConfigPath: string;
  requiredDirectives: readonly RequiredDirective[];
  endpoints: { stream: string; health: string };
  /** Names of the backups the seed's step 2 makes (first) and later ones (with a timestamp). */
  backupSuffix: string;
}

/** Typed identity: a runbook is data, checked by the compiler. */
export function defineRunbook<T extends Runbook>(runbook: T): T {
  return runbook;
}
