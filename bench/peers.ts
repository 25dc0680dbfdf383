// The peers the tool is measured against on the same real-sshd host: the plain ssh script (the floor)
// and the Ansible playbook. Each run is checked: exit 0 and the fix on the host afterwards.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostTemplate, REPO, type BenchRealHost } from './real-host.js';
import { cleanEnv, spawnTimed } from './spawn.js';

export const FIXED_TEMPLATE = join(REPO, 'runbooks', 'ocapistaine-ws-fix', 'ocapistaine.conf.template');
const PLAIN = join(REPO, 'bench', 'peers', 'plain-ssh.sh');
const ANSIBLE_DIR = join(REPO, 'bench', 'peers', 'ansible');

export interface PeerRun {
  wallMs: number;
  /** Whether the run changed the template (false: a no-op re-run). */
  changed: boolean;
}

function ensureFixed(host: BenchRealHost, what: string, stderr: string): void {
  if (hostTemplate(host) !== host.fixedTemplate) throw new Error(`${what}: the host's template is not the fix afterwards\n${stderr.slice(-2000)}`);
}

export async function runPlain(host: BenchRealHost, controlMaster: boolean): Promise<PeerRun> {
  const dir = mkdtempSync(join(tmpdir(), 'awf-bench-plain-'));
  try {
    const env = cleanEnv({
      TARGET: `${host.user}@127.0.0.1`,
      PORT: String(host.port),
      KEY: host.privateKeyPath,
      KNOWN_HOSTS: host.knownHostsPath,
      TEMPLATE: FIXED_TEMPLATE,
      URL: host.publicUrl,
      ...(controlMaster ? { CONTROL_PATH: join(dir, 'cm') } : {}),
    });
    const timed = await spawnTimed('bash', [PLAIN], { env, timeoutMs: 120_000 });
    const what = `plain-ssh${controlMaster ? ' (ControlMaster)' : ''}`;
    if (timed.code !== 0) throw new Error(`${what} exited ${timed.code}: ${timed.stderr.slice(-2000)}`);
    ensureFixed(host, what, timed.stderr);
    return { wallMs: timed.wallMs, changed: /changed=1/.test(timed.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why Ansible cannot run here, or null when ansible-playbook is there. */
export function ansibleMissing(): string | null {
  const probe = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  if (!probe.error && probe.status === 0) return null;
  return `ansible-playbook is not installed (${probe.error ? probe.error.message : `exit ${probe.status}`})`;
}

/** Installs Debian's ansible package when missing (root only); returns why it is still missing, or null. */
export function ensureAnsible(log: (line: string) => void): string | null {
  if (ansibleMissing() === null) return null;
  if (process.getuid?.() !== 0) return `${ansibleMissing()}; not root, so not installing it (run: apt-get install -y ansible)`;
  log('Ansible: not installed; running apt-get install -y ansible (setup, not timed)…');
  const install = spawnSync('apt-get', ['install', '-y', '-q', 'ansible'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.error || install.status !== 0) {
    const why = install.error?.message ?? `${install.stderr}${install.stdout}`.trim().split('\n').slice(-2).join(' ');
    return `apt-get install -y ansible failed: ${why}`;
  }
  return ansibleMissing();
}

export async function runAnsible(host: BenchRealHost): Promise<PeerRun> {
  const dir = mkdtempSync(join(tmpdir(), 'awf-bench-ansible-'));
  const controlDir = join(dir, 'cp');
  try {
    const inventory = join(dir, 'inventory.ini');
    const sshArgs = `-o UserKnownHostsFile=${host.knownHostsPath} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityAgent=none`;
    writeFileSync(inventory, `[proxy]\ntarget ansible_host=127.0.0.1 ansible_port=${host.port} ansible_user=${host.user} ansible_ssh_private_key_file=${host.privateKeyPath} ansible_ssh_common_args='${sshArgs}'\n`);
    const env = cleanEnv({
      ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
      // A fresh ControlPath dir a run, so no run reuses the previous run's persisted master connection.
      ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
      ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
      ANSIBLE_HOME: join(dir, 'home'),
      ANSIBLE_NOCOLOR: '1',
    });
    const extra = JSON.stringify({ fixed_template: FIXED_TEMPLATE, project_dir: '~/vaettir', public_url: host.publicUrl });
    const timed = await spawnTimed('ansible-playbook', ['-i', inventory, join(ANSIBLE_DIR, 'playbook.yml'), '-e', extra], { env, timeoutMs: 180_000 });
    if (timed.code !== 0) throw new Error(`ansible-playbook exited ${timed.code}: ${timed.stdout.slice(-2500)}${timed.stderr.slice(-1000)}`);
    ensureFixed(host, 'ansible', timed.stdout);
    const changed = /changed=(\d+)/.exec(timed.stdout);
    return { wallMs: timed.wallMs, changed: Number(changed?.[1] ?? '0') > 0 };
  } finally {
    // The ssh master Ansible left behind (ControlPersist=60s) is stopped, untimed.
    try {
      for (const sock of readdirSync(controlDir)) spawnSync('ssh', ['-o', `ControlPath=${join(controlDir, sock)}`, '-O', 'exit', 'bench'], { stdio: 'ignore', timeout: 5000 });
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
}
