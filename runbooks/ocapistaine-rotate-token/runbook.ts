// Rotate the app's API token in the project's .env without ever showing it: the new value comes from the
// environment or stdin, travels to the host on stdin only, and is shown, journaled and verified by checksum alone.
import { composeUp, containerEnv, containerRunning, defineRunbook, dotenvKey, type Check } from '../../src/index.js';
import { PRINTABLE, TOKEN_VARIABLE, envTokenNow, hostOf, servedByFacts, servesNow, type Host, type Params } from './host.js';
import meta from './meta.js';

const tokenOf = (p: Params): string => {
  if (p.token === undefined) throw new Error('internal: the token is needed to apply');
  return p.token;
};

const running = (host: Host): Check => containerRunning({ target: host.target });

export default defineRunbook({
  // id, title, description, connection and params: what --help shows without loading this module.
  ...meta,
  project: (p) => p.dir,
  describe: (p) => `${p.dir}, service ${p.service}`,
  describeFacts(p, fact) {
    const host = hostOf(p);
    return `.env read (${fact(host.facts.env).length} bytes); service ${p.service} is ${fact(host.facts.container)?.status ?? 'not created'}`;
  },
  facts(p) {
    const { facts } = hostOf(p);
    return [facts.env, facts.version, facts.services, facts.container, facts.containerToken];
  },
  apply(p) {
    const host = hostOf(p);
    return {
      steps: [
        ...dotenvKey({
          path: host.env,
          key: TOKEN_VARIABLE,
          value: p.token ?? '',
          secret: true,
          current: host.facts.env,
          ids: { backup: 'backup-env', write: 'write-env', restore: 'restore-env' },
          titles: { backup: 'Back up .env', write: `Set ${TOKEN_VARIABLE} in .env`, restore: 'Restore the original .env' },
          noun: 'the .env file',
          newWhat: 'the new token',
        }),
        composeUp({
          target: host.target,
          id: 'recreate',
          title: 'Recreate the container with the new token',
          printable: PRINTABLE,
          condition: 'only when .env changes or the container does not run with the token .env holds (checksums compared)',
          when: (ctx) => {
            if (ctx.planOf('write-env')?.kind === 'change') return { run: true, forceRecreate: true };
            if (servedByFacts(host, ctx)) return { run: false, reason: 'the running container already has the new token (same sha256)' };
            return { run: true, why: 'the container does not run with the token .env holds', forceRecreate: true };
          },
          servesNow: (ctx) => servesNow(ctx, host),
          servedByFacts: (ctx) => servedByFacts(host, ctx),
        }),
      ],
      checks: [running(host), containerEnv({ target: host.target, name: TOKEN_VARIABLE, secret: true, equals: () => tokenOf(p) })],
    };
  },
  rollbackChecks(p) {
    const host = hostOf(p);
    return [
      running(host),
      containerEnv({
        target: host.target,
        name: TOKEN_VARIABLE,
        secret: true,
        title: `${TOKEN_VARIABLE} in the container is the one .env holds`,
        expects: `sha256 of printenv ${TOKEN_VARIABLE} in the container equals that of the value .env holds`,
        equals: async (ctx) => (await envTokenNow(ctx, host)) ?? '',
      }),
    ];
  },
  printable: PRINTABLE,
  headlines: {
    applied: 'Applied: the new token is in .env and the container runs with it (checksums match)',
    'already-applied': 'Already applied: .env and the container already have that token',
    'rolled-back': 'Rolled back: the previous .env is back and the container runs with the old token',
  },
});
