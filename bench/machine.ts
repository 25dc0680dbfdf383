// The machine the figures were measured on: CPU, cores, memory, Node, OpenSSH (and Ansible if present).
import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage1m: number;
  kernel: string;
  os: string;
  node: string;
  openssh: string;
  ansible: string | null;
}

function firstLine(cmd: string, args: string[]): string | null {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return `${result.stdout}${result.stderr}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? null;
}

function osName(): string {
  const text = spawnSync('cat', ['/etc/os-release'], { encoding: 'utf8' }).stdout ?? '';
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? process.platform;
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    kernel: release(),
    os: osName(),
    node: process.version,
    openssh: firstLine('ssh', ['-V']) ?? 'not installed',
    ansible: firstLine('ansible-playbook', ['--version']),
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM (load ${m.loadAverage1m}), ${m.os} (Linux ${m.kernel}), Node ${m.node}, ${m.openssh}${m.ansible ? `, ${m.ansible}` : ''}`;
}
