// Docker Compose v2 command lines, built in one place and run elsewhere (as Kamal's commands/ do).
import { andThen, shellJoin, type RemotePath } from '../shell/quote.js';

/** Where and on what the compose commands act. */
export interface ComposeTarget {
  dir: RemotePath;
  service: string;
  profiles: readonly string[];
}

// Every compose command runs in the project directory, as the runbook's operator does.
function compose(target: ComposeTarget, args: readonly string[]): string {
  return andThen(shellJoin(['cd', '--', target.dir]), shellJoin(['docker', 'compose', ...args]));
}

function profileFlags(target: ComposeTarget): string[] {
  return target.profiles.flatMap((profile) => ['--profile', profile]);
}

export const composeCommands = {
  version: (t: ComposeTarget) => compose(t, ['version']),
  // Services behind a profile are listed only with that profile active, as real Compose does.
  services: (t: ComposeTarget) => compose(t, [...profileFlags(t), 'config', '--services']),
  build: (t: ComposeTarget) => compose(t, ['build', t.service]),
  up: (t: ComposeTarget, forceRecreate = false) =>
    compose(t, [...profileFlags(t), 'up', '-d', ...(forceRecreate ? ['--force-recreate'] : []), t.service]),
  ps: (t: ComposeTarget) => compose(t, ['ps', '-a', '--format', 'json', t.service]),
  // Never -f: it does not return.
  logs: (t: ComposeTarget, tail: number) => compose(t, ['logs', '--no-color', '--tail', String(tail), t.service]),
  cat: (t: ComposeTarget, path: string) => compose(t, ['exec', '-T', t.service, 'cat', path]),
  // printenv of one name, so no other value of the container's env ever crosses the wire.
  printenv: (t: ComposeTarget, name: string) => compose(t, ['exec', '-T', t.service, 'printenv', name]),
  /** Any command in the running container. */
  exec: (t: ComposeTarget, argv: readonly string[]) => compose(t, ['exec', '-T', t.service, ...argv]),
  /** Any command in a throwaway container of the service's image; the running one is not touched. */
  run: (t: ComposeTarget, argv: readonly string[]) => compose(t, ['run', '--rm', '--no-deps', '-T', t.service, ...argv]),
} as const;
