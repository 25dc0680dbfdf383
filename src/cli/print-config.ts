// --print-config: every setting the run would use, with where it came from (flag, env, file, the ssh config's file and
// line, default), the SSH route and files resolved from the ssh config, and whether ssh -G agreed; text or --json.
import type { RunOptions } from '../core/options.js';
import type { LayeredKey, Layers } from './layers.js';

// --print-config: each setting with the layer it came from, so "why does it connect there?" has an answer. Layered
// settings say flag, env or file; the SSH ones may also come from the ssh config (file and line) or the defaults.
export interface ConfigRow {
  name: string;
  value: string | number | boolean | string[] | null;
  source: string;
}

export function describeSettings(runs: readonly RunOptions[], argv: readonly string[], layers: Layers, fleet: { hostsFile: string | undefined; concurrency: string; sshConfig: string | undefined }): { rows: ConfigRow[]; runs: { host: string; rows: ConfigRow[] }[]; configFile: string | null } {
  const given = (key: string): boolean => argv.some((a) => a === `--${key}` || a.startsWith(`--${key}=`));
  const layer = (key: LayeredKey): string => (given(key) ? 'flag' : layers.sources[key] ?? 'default');
  // A setting the target resolver calls "flag" may have reached it from the environment or the config file.
  const sshSource = (key: LayeredKey, resolved: string | undefined, byDefault = 'default (runbook)'): string => {
    if (resolved === undefined || resolved === 'default') return layer(key) === 'default' ? byDefault : layer(key);
    if (resolved === 'flag') return layer(key);
    return resolved;
  };
  const rows: ConfigRow[] = [
    { name: 'ssh-config', value: fleet.sshConfig ?? '~/.ssh/config, then /etc/ssh/ssh_config', source: fleet.sshConfig === undefined ? 'default (as ssh reads them)' : layer('ssh-config') },
    { name: 'concurrency', value: Number(fleet.concurrency), source: layer('concurrency') },
    { name: 'hosts-file', value: fleet.hostsFile ?? null, source: fleet.hostsFile === undefined ? 'default (none)' : layer('hosts-file') },
  ];
  const perRun = runs.map((run) => {
    const ssh = run.ssh;
    const src = ssh?.sources ?? {};
    const hostSource = src['host']?.startsWith('ssh-config') ? `${src['host']}, alias from ${layer('host')}` : sshSource('host', src['host']);
    const runRows: ConfigRow[] = [
      { name: 'host', value: run.host, source: hostSource },
      ...(ssh?.alias !== undefined ? [{ name: 'alias', value: ssh.alias, source: layer('host') }] : []),
      { name: 'port', value: run.port, source: sshSource('port', src['port']) },
      { name: 'user', value: run.user, source: sshSource('user', src['user']) },
      { name: 'identity', value: run.identity ?? null, source: run.identity !== undefined ? layer('identity') : 'default (none: the files below)' },
      { name: 'identity-files', value: ssh?.identityFiles.length ? ssh.identityFiles : run.identity !== undefined ? [] : ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ed25519'], source: ssh?.identityFiles.length ? src['identity'] ?? 'ssh-config' : 'default (ssh\'s key files)' },
      { name: 'certificate-files', value: ssh?.certificateFiles ?? [], source: src['certificates'] ?? 'default (KEY-cert.pub beside each key)' },
      { name: 'identities-only', value: ssh?.identitiesOnly ?? false, source: src['identities-only'] ?? 'default' },
      { name: 'identity-agent', value: ssh?.identityAgent ?? 'SSH_AUTH_SOCK', source: ssh?.identityAgent !== undefined ? 'ssh-config' : 'default' },
      { name: 'jumps', value: (ssh?.jumps ?? []).map((jump) => `${jump.user}@${jump.host}:${jump.port} (${jump.label}; known_hosts ${[jump.knownHosts, ...jump.extraKnownHosts].filter(Boolean).join(' ') || 'none'})`), source: src['jumps'] ?? 'default (none)' },
      { name: 'proxy-command', value: ssh?.proxyCommand?.command ?? null, source: src['proxy-command'] ?? 'default (none)' },
      { name: 'known-hosts', value: [run.knownHosts, ...(ssh?.extraKnownHosts ?? [])].filter(Boolean), source: sshSource('known-hosts', src['known-hosts'], "default (ssh's files)") + (src['global-known-hosts'] ? `; global: ${src['global-known-hosts']}` : '') },
      { name: 'host-key-alias', value: ssh?.hostKeyAlias ?? null, source: src['host-key-alias'] ?? 'default (none)' },
      { name: 'new-host-keys', value: ssh?.acceptNewHostKey ? 'recorded (accept-new)' : 'refused', source: src['strict-host-key-checking'] ?? 'default' },
      // The runbook's parameters: dir, service and url have flags (and layers) of their own; the others come from --param.
      ...Object.entries(run.params).map(([name, value]) => ({ name, value, source: ['dir', 'service', 'url'].includes(name) ? layer(name as 'dir' | 'service' | 'url') : 'runbook parameter' })),
      { name: 'settle', value: run.settleMs / 1000, source: layer('settle') },
      { name: 'start-timeout', value: run.startTimeoutMs / 1000, source: layer('start-timeout') },
      { name: 'connect-timeout', value: run.connectTimeoutMs / 1000, source: layer('connect-timeout') },
      { name: 'ssh-config-files', value: ssh?.configFiles ?? [], source: 'read in this order' },
      { name: 'config-notes', value: ssh?.notes ?? [], source: 'ssh-config' },
      { name: 'refused', value: ssh?.refusals ?? [], source: ssh?.refusals.length ? 'ssh-config: a run refuses to connect (exit 3)' : 'ssh-config' },
      { name: 'openssh-check', value: ssh?.openssh === undefined ? 'not asked (no ssh config)' : ssh.openssh.status === 'skipped' ? `skipped: ${ssh.openssh.reason}` : ssh.openssh.status === 'agrees' ? `ssh -G agrees (${ssh.openssh.hops} hop(s))` : `ssh -G differs: ${ssh.openssh.differences.join('; ')}`, source: ssh?.openssh !== undefined && 'ssh' in ssh.openssh ? ssh.openssh.ssh : 'ssh -G' },
    ];
    return { host: ssh?.alias ?? run.host, rows: runRows };
  });
  return { rows, runs: perRun, configFile: layers.configFile ?? null };
}

export function printSettings(described: ReturnType<typeof describeSettings>, json: boolean): string {
  if (json) {
    const object = (rows: ConfigRow[]) => Object.fromEntries(rows.map((row) => [row.name, { value: row.value, source: row.source }]));
    return JSON.stringify({ configFile: described.configFile, settings: object(described.rows), runs: described.runs.map((run) => ({ host: run.host, settings: object(run.rows) })) }, null, 2);
  }
  const show = (value: ConfigRow['value']): string => (value === null ? '(none)' : Array.isArray(value) ? (value.length === 0 ? '(none)' : value.join(', ')) : String(value));
  const line = (row: ConfigRow): string => `${row.name.padEnd(18)} ${show(row.value).padEnd(48)} ${row.source}`;
  const lines = [`config file: ${described.configFile ?? 'none (./apply-ws-fix.config.json not found)'}`, ...described.rows.map(line)];
  for (const run of described.runs) {
    if (described.runs.length > 1) lines.push('', `[${run.host}]`);
    lines.push(...run.rows.map(line));
  }
  return lines.join('\n');
}
