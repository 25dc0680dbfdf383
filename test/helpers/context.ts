// The ws-fix runbook over given facts, for its pure plans and its checks: the facts are set, not read, and the
// transport refuses to run anything unless a test gives one that answers.
import { readFileSync } from 'node:fs';
import ocapistaineWsFix from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { hostOf, type Host } from '../../runbooks/ocapistaine-ws-fix/host.js';
import type { ContainerStatus } from '../../src/compose/parse.js';
import { FactStore } from '../../src/core/facts.js';
import { HostJournal, journalFact } from '../../src/core/host-journal.js';
import { defaultRunOptions, type RunOptions } from '../../src/core/options.js';
import { resolveParams } from '../../src/core/params.js';
import { RunScope } from '../../src/core/scope.js';
import { Session } from '../../src/core/session.js';
import type { AnyParams, ExecContext, JournalEvent, StepPlan } from '../../src/core/types.js';
import { fileStatFact, type BackupFile } from '../../src/kinds/file-replace.js';
import type { FileStat } from '../../src/lib/file-commands.js';
import { RemotePath } from '../../src/shell/quote.js';
import type { Transport } from '../../src/transport/transport.js';

export const DESIRED = readFileSync(new URL('../../runbooks/ocapistaine-ws-fix/ocapistaine.conf.template', import.meta.url));
export const BROKEN = readFileSync(new URL('../../fixtures/fake-host/vaettir/proxy-configs/ocapistaine.conf.template', import.meta.url));
export const TARGET = 'https://ocapistaine.ngrok-free.app';
export const RUN_ID = '20261126T011836Z-abcdef';

export function params(overrides: Record<string, string> = {}): AnyParams {
  return resolveParams(ocapistaineWsFix, overrides);
}

export function runOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return defaultRunOptions(ocapistaineWsFix.connection, params(), overrides);
}

export function render(template: Buffer): Buffer {
  return Buffer.from(template.toString('latin1').replaceAll('${OCAPISTAINE_TARGET_URL}', TARGET), 'latin1');
}

export function backup(name: string, content: Buffer): BackupFile {
  return { name, path: new RemotePath(`~/vaettir/proxy-configs/${name}`), content };
}

/** What the ws-fix runbook reads on a host. */
export interface HostFacts {
  template: Buffer;
  backups: BackupFile[];
  composeVersion: string;
  services: string[];
  container: ContainerStatus | undefined;
  rendered: Buffer | undefined;
  targetUrl: string | undefined;
  journal: JournalEvent[] | Record<string, unknown>[];
  logs: string | undefined;
  /** The template's symlink, owner and mode, the SSH user, leftovers; undefined when stat could not say. */
  stat: FileStat | undefined;
}

/** Facts of the broken host as the runbook finds it, with overrides. */
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
    stat: { linkTo: undefined, uid: 1000, groups: [1000], owner: { uid: 1000, gid: 1000, user: 'jnxmas', group: 'jnxmas' }, mode: '644', leftovers: [] },
    ...overrides,
  };
}

const refusing: Transport = {
  label: 'jnxmas@vaettir.locki.io:22',
  exec: () => Promise.reject(new Error('plans must not run remote commands')),
  close: async () => {},
};

/** The facts as the runbook's fact store holds them. */
export function storeOf(host: Host, f: HostFacts): FactStore {
  const store = new FactStore();
  const inContainer = (value: Buffer | string | undefined) => (value === undefined ? { ok: false as const, missing: false, why: 'exit 1' } : { ok: true as const, stdout: Buffer.from(value) });
  store.set(host.facts.backups, f.backups);
  store.set(host.facts.template, f.template);
  store.set(host.facts.version, f.composeVersion);
  store.set(host.facts.services, f.services);
  store.set(host.facts.container, f.container);
  store.set(host.facts.rendered, inContainer(f.rendered));
  store.set(host.facts.targetUrl, inContainer(f.targetUrl === undefined ? undefined : `${f.targetUrl}\n`));
  store.set(host.facts.logs, f.logs);
  store.set(fileStatFact(host.template), f.stat);
  store.set(journalFact(host.dir, []), { location: undefined, events: f.journal });
  return store;
}

/** One run's scope over the facts: plan every step of the action in order, or hand a check its context. */
export function scopeWith(f: HostFacts, options: Partial<RunOptions> = {}, transport: Transport = refusing) {
  const opts = runOptions(options);
  const host = hostOf(opts.params as { dir: string; service: string; url: string });
  const session = new Session({ options: opts, transport, interrupt: { signal: null }, printable: ['OCAPISTAINE_TARGET_URL'], secrets: [], runId: RUN_ID });
  const journal = new HostJournal(session, host.dir, { runbook: ocapistaineWsFix.id, params: {} });
  const scope = new RunScope(session, ocapistaineWsFix, opts.params, storeOf(host, f), f.journal as JournalEvent[], journal);
  const spec = opts.action === 'rollback' ? ocapistaineWsFix.rollback!(opts.params) : ocapistaineWsFix.apply(opts.params);
  return {
    host,
    scope,
    spec,
    /** Plans the action's steps in order (as the core does) and returns the plans by step id. */
    plans(): Map<string, StepPlan> {
      const ctx = scope.planContext();
      for (const step of spec.steps) scope.plans.set(step.id, step.plan(ctx));
      return scope.plans;
    },
    /** A check's context; `changed` says whether this run changed the host (the facts are stale then). */
    checkContext(changed = false): ExecContext {
      scope.changed = changed;
      return scope.execContext();
    },
    check(id: string) {
      const found = [...spec.checks, ...(ocapistaineWsFix.rollbackChecks?.(opts.params) ?? [])].find((c) => c.id === id);
      if (found === undefined) throw new Error(`no check ${id}`);
      return found;
    },
  };
}
