import { FAULTS, type FaultName } from './faults.js';

export interface DescribableHost {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
  knownHostsLine: string;
  hostKeyFingerprint: string;
  publicUrl: string;
  projectDir: string;
  faults: ReadonlySet<FaultName>;
}

// What a person (or CI script) needs to point a client at the fake host.
export function describeFakeHost(host: DescribableHost): string {
  const faults = [...host.faults];
  return [
    `Fake host listening on ${host.host}:${host.port} (SSH, public-key auth only)`,
    `  user:             ${host.user}`,
    `  identity file:    ${host.privateKeyPath}`,
    `  known_hosts file: ${host.knownHostsPath}`,
    `  known_hosts line: ${host.knownHostsLine}`,
    `  host key:         ${host.hostKeyFingerprint}`,
    `  project dir:      ${host.projectDir}`,
    `  public URL:       ${host.publicUrl}`,
    `  faults:           ${faults.length > 0 ? faults.map((f) => `${f} (${FAULTS[f]})`).join('; ') : 'none'}`,
    '',
    'Try:',
    `  apply-ws-fix --host ${host.host} --port ${host.port} --user ${host.user} --identity ${host.privateKeyPath} --known-hosts ${host.knownHostsPath} --url ${host.publicUrl} --dry-run`,
    `  ssh -i ${host.privateKeyPath} -o UserKnownHostsFile=${host.knownHostsPath} -p ${host.port} ${host.user}@${host.host} 'cd vaettir && docker compose ps'`,
  ].join('\n');
}
