// A RunContext over given facts, for the pure plan functions: its transport refuses to run anything.
import { readFileSync } from 'node:fs';
import { ocapistaineWsFix } from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { createSession, type RunContext } from '../../src/engine/context.js';
import { Journal } from '../../src/engine/journal.js';
import { defaultRunOptions, type RunOptions } from '../../src/engine/options.js';
import type { HostFacts } from '../../src/steps/gather.js';
import { RemotePath } from '../../src/shell/quote.js';
import type { Transport } from '../../src/transport/transport.js';

export const DESIRED = readFileSync(ocapistaineWsFix.desiredTemplateFile);
export const BROKEN = readFileSync(new URL('../../fixtures/fake-host/vaettir/proxy-configs/ocapistaine.conf.template', import.meta.url));
export const TARGET = 'https://ocapistaine.ngrok-free.app';

export function runOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return defaultRunOptions(ocapistaineWsFix.defaults, overrides);
}

export function render(template: Buffer): Buffer {
  return Buffer.from(template.toString('latin1').replaceAll('${OCAPISTAINE_TARGET_URL}', TARGET), 'latin1');
}

export function backup(name: string, content: Buffer) {
  return { name, path: new RemotePath(`~/vaettir/proxy-configs/${name}`), content };
}

/** Facts of the broken host as the seed finds it, with overrides. */
export function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    template: BROKEN,
    backups: [],
    composeVersion: 'Docker Compose version v2.29.7',
    services: ['web', 'ocapistaine'],
    container: { name: 'vaettir-ocapistaine-1', service: 'ocapistaine', state: 'running', status: 'Up 3 hours', health: '', exitCode: 0 },
    rendered: render(BROKEN),
    targetUrl: TARGET,
    journal: [],
    logs: '',
    ...overrides,
  };
}

export function contextWith(hostFacts: HostFacts, options: Partial<RunOptions> = {}, transport?: Transport): RunContext {
  const session = createSession({
    options: runOptions(options),
    runbook: ocapistaineWsFix,
    desired: DESIRED,
    interrupt: { signal: null },
    runId: '20261126T011836Z-abcdef',
    transport: transport ?? {
      label: 'jnxmas@vaettir.locki.io:22',
      exec: () => Promise.reject(new Error('plans must not run remote commands')),
      close: async () => {},
    },
  });
  return { ...session, facts: hostFacts, journal: new Journal(), deployed: false };
}
