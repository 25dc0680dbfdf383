// Loads the e2e real test host (test/e2e/harness/real-host.ts: OpenSSH sshd + a real Docker Engine and
// Compose v2 running the nginx container) from its TypeScript source through bench/ts-hooks.mjs, so the harness is neither
// copied nor compiled into dist/. Only the part of its API the bench uses is typed here.
import { register } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchRealHost {
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly projectDir: string;
  readonly privateKeyPath: string;
  readonly knownHostsPath: string;
  readonly publicUrl: string;
  readonly fixedTemplate: string;
  readonly originalTemplate: string;
  readonly logs: { sshd: string };
  readonly versions: { engine: string; compose: string; client: string };
  readFile(relToHome: string): string;
  reset(): Promise<void>;
  setFault(name: 'health-fails'): Promise<void>;
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

interface HarnessModule {
  realHostPrerequisites(): string[];
  startRealHost(o?: { user?: string }): Promise<BenchRealHost>;
}

// dist/bench/real-host.js → the repository root is two levels up.
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HARNESS = new URL('../../test/e2e/harness/real-host.ts', import.meta.url);
let loaded: HarnessModule | undefined;

export async function loadHarness(): Promise<HarnessModule> {
  if (loaded) return loaded;
  if (!existsSync(HARNESS)) throw new Error(`no e2e harness at ${fileURLToPath(HARNESS)}`);
  register(new URL('../../bench/ts-hooks.mjs', import.meta.url));
  loaded = (await import(HARNESS.href)) as HarnessModule;
  return loaded;
}

/** The template as it is on the host now. */
export function hostTemplate(host: BenchRealHost): string {
  return host.readFile('vaettir/proxy-configs/ocapistaine.conf.template');
}
