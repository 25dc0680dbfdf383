// Point the ocapistaine proxy at a new upstream (a new tunnel URL): check from the host that the new URL answers,
// set OCAPISTAINE_TARGET_URL in the project's .env (one line; every other byte kept), recreate the container without
// a build, and verify what the container and nginx got and what the public URL answers. Nothing here is known to the core.
import { composeUp, containerEnv, containerRunning, defineRunbook, dotenvKey, dotenvValue, httpCheck, wsHandshake, type Check } from '../../src/index.js';
import { proxyPassCheck } from './checks.js';
import { HEALTH, STREAM, TARGET_VARIABLE, envValueNow, hostOf, servedByFacts, servesNow, upstreamFact, type Host, type Params } from './host.js';
import meta from './meta.js';

const targetOf = (p: Params): string => {
  if (p['target-url'] === undefined) throw new Error('internal: target-url is needed to apply');
  return p['target-url'];
};

const running = (host: Host): Check => containerRunning({ target: host.target });

// After a rollback: the container runs with the value .env holds again (read live, so it names the restored one).
const rollbackChecks = (host: Host): Check[] => [
  running(host),
  containerEnv({ target: host.target, name: TARGET_VARIABLE, title: `${TARGET_VARIABLE} in the container is the one .env holds`, expects: `printenv ${TARGET_VARIABLE} in the container prints the value .env holds`, equals: async (ctx) => (await envValueNow(ctx, host)) ?? '(not set in .env)' }),
];

export default defineRunbook({
  // id, title, description, connection and params: what --help shows without loading this module.
  ...meta,
  project: (p) => p.dir,
  describe: (p) => `${p.dir}, service ${p.service}${p['target-url'] ? `, new upstream ${p['target-url']}` : ''}`,
  describeFacts(p, fact, action) {
    const host = hostOf(p);
    const now = dotenvValue(fact(host.facts.env), TARGET_VARIABLE) ?? 'not set';
    const container = fact(host.facts.container);
    return `.env has ${TARGET_VARIABLE}=${now}; service ${p.service} is ${container?.status ?? 'not created'}${action !== 'rollback' && p['target-url'] ? `; ${fact(upstreamFact(p['target-url']))}` : ''}`;
  },
  facts(p, action) {
    const host = hostOf(p);
    const { facts } = host;
    // The new upstream is checked only to apply (or check): a rollback must work when the new tunnel is dead.
    const upstream = action !== 'rollback' && p['target-url'] !== undefined ? [upstreamFact(p['target-url'])] : [];
    return [facts.env, facts.version, facts.services, ...upstream, facts.container, facts.containerTarget];
  },
  apply(p) {
    const host = hostOf(p);
    const target = p['target-url'] ?? '';
    return {
      steps: [
        ...dotenvKey({
          path: host.env,
          key: TARGET_VARIABLE,
          value: target,
          current: host.facts.env,
          ids: { backup: 'backup-env', write: 'write-env', restore: 'restore-env' },
          titles: { backup: 'Back up .env', write: `Set ${TARGET_VARIABLE} in .env`, restore: 'Restore the original .env' },
          noun: 'the .env file',
        }),
        composeUp({
          target: host.target,
          id: 'recreate',
          title: 'Recreate the container with the new environment',
          printable: [TARGET_VARIABLE],
          condition: `only when .env changes or the container does not run with ${TARGET_VARIABLE} as .env has it`,
          when: (ctx) => {
            if (ctx.planOf('write-env')?.kind === 'change') return { run: true, forceRecreate: true };
            if (servedByFacts(host, ctx)) return { run: false, reason: `the running container already has ${TARGET_VARIABLE}=${target}` };
            return { run: true, why: `the container does not run with ${TARGET_VARIABLE} as .env has it`, forceRecreate: true };
          },
          servesNow: (ctx) => servesNow(ctx, host),
          servedByFacts: (ctx) => servedByFacts(host, ctx),
        }),
      ],
      checks: [
        running(host),
        containerEnv({ target: host.target, name: TARGET_VARIABLE, equals: () => targetOf(p) }),
        proxyPassCheck(host, () => targetOf(p)),
        httpCheck({ id: 'health', url: new URL(HEALTH, p.url).toString(), status: 200, concurrent: true }),
        wsHandshake({ id: 'websocket', url: new URL(STREAM, p.url).toString(), concurrent: true }),
      ],
    };
  },
  rollbackChecks: (p) => rollbackChecks(hostOf(p)),
  printable: [TARGET_VARIABLE],
  headlines: {
    applied: 'Applied: the proxy points at the new upstream, verified',
    'already-applied': 'Already applied: the proxy points at that upstream and every check passes',
    'rolled-back': 'Rolled back: the previous .env is back and the container runs with it',
    healthy: 'Healthy: the proxy points at that upstream and every check passes',
    'needs-change': 'Needs the change: the proxy does not point at that upstream yet (nothing was changed)',
  },
});
