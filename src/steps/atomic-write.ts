// The one way the template is written: a temp copy in the same directory (keeps mode and owner),
// the new bytes from stdin, fsync, rename over the template, then read back for the caller to compare.
import type { RunPaths } from '../engine/context.js';
import { shellJoin } from '../shell/quote.js';

/** Exit status of a guarded write when the guard fails: the template is not what the plan saw. */
export const GUARD_FAILED = 75;

/**
 * The command line for an atomic write of stdin over the template. `unlessDiffersFrom` names a file
 * in the config directory the template must still equal (compare-and-swap).
 */
export function atomicWriteCommand(paths: RunPaths, runId: string, unlessDiffersFrom?: string): string {
  const tmp = `.${paths.templateName}.${runId}.tmp`;
  const guard =
    unlessDiffersFrom === undefined
      ? []
      : [`{ ${shellJoin(['cmp', '-s', '--', paths.templateName, unlessDiffersFrom])} || { echo 'the template changed on the host after it was read' >&2; exit ${GUARD_FAILED}; }; }`];
  const write =
    `{ ${shellJoin(['cp', '-p', '--', paths.templateName, tmp])} && cat > ${shellJoin([tmp])} && ` +
    `{ sync ${shellJoin(['--', tmp])} 2>/dev/null || sync; } && ${shellJoin(['mv', '-f', '--', tmp, paths.templateName])} || ` +
    `{ rc=$?; ${shellJoin(['rm', '-f', '--', tmp])}; exit "$rc"; }; }`;
  return [shellJoin(['cd', '--', paths.configDir]), ...guard, write, shellJoin(['cat', '--', paths.templateName])].join(' && ');
}
