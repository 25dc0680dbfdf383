// The WebSocket fix for the ocapistaine nginx proxy: back up the template, install the config that passes
// WebSocket upgrades through, rebuild, test it with nginx -t, recreate the container, and verify what nginx loaded
// and what the public URL answers. Composed from the step library; nothing here is known to the core.

import { findNginxErrors } from './nginx-errors.js';
import { defineRunbook } from '../../src/core/define.js';
import type { PlanContext, Step } from '../../src/core/types.js';
import { StartError, StepError } from '../../src/errors.js';
import { sha256 } from '../../src/lib/checksum.js';
import { unifiedDiff } from '../../src/lib/diff.js';
import { restoreCommand, GUARD_FAILED, BACKUP_CHANGED } from '../../src/lib/file-commands.js';
import { containerRunning, logScan } from '../../src/kinds/checks.js';
import { composeBuild, composeUp, composeValidate, type When } from '../../src/kinds/compose.js';
import { fileReplace, fileStatFact, pruneBackups, type BackupFile } from '../../src/kinds/file-replace.js';
import { RemotePath } from '../../src/shell/quote.js';
import { gitCommit } from '../../src/kinds/git-commit.js';
import { firstLine, succeeded } from '../../src/transport/transport.js';
import { endpointCheck, renderedCheck } from './checks.js';
import { diagnose } from './diagnose.js';
import { DESIRED, LOG_TAIL, TARGET_VARIABLE, hostOf, servesByFacts, servesNow, type Host } from './host.js';
import meta from './meta.js';

// Build, validate and restart share one decision: the container must come to serve the new template.
function deployWhen(host: Host): When {
  return (ctx) => {
    if (ctx.planOf('write-template')?.kind === 'change') return { run: true };
    if (servesByFacts(host, ctx, DESIRED)) return { run: false, reason: 'the running container already serves the new config' };
    const container = ctx.fact(host.facts.container);
    const why = container?.state !== 'running' ? `the container is ${container?.status || 'not there'}` : 'the running container does not serve the template yet';
    return { run: true, why, forceRecreate: true };
  };
}

// The backup a --rollback would restore is never pruned, nor the plain .backup a person made.
function pruneStep(host: Host, keep: number): Step {
  return pruneBackups({
    path: host.template,
    keep,
    backups: host.facts.backups,
    title: 'Keep the newest backups of the template',
    protect: (ctx) => {
      try {
        return chosenBackup(host, ctx).backup.name;
      } catch {
        return undefined;
      }
    },
  });
}

function commitStep(host: Host): Step {
  const title = 'WebSocket upgrade support for the ocapistaine nginx proxy';
  return gitCommit({
    dir: host.dir,
    files: [host.templateRelative],
    title: 'Commit the template in the host\'s git repository',
    message: (action, runId) => `apply-ws-fix: ${action === 'rollback' ? 'roll back' : 'apply'} ${title} (run ${runId})`,
  });
}

const common = (host: Host) => [containerRunning({ target: host.target }), logScan({ target: host.target, tail: LOG_TAIL, find: findNginxErrors, what: 'nginx error', clean: `no [emerg], [alert], [crit] or [error] in the last ${LOG_TAIL} lines`, printable: [TARGET_VARIABLE], remedy: 'Fix what the [emerg]/[error] lines name (a config error keeps the container from starting).', id: 'logs', title: 'The logs carry no nginx errors' })];

/**
 * The backup a rollback restores, and the checksum it must have: the one the last successful apply journaled (so a
 * rollback from any machine picks the same, and refuses a backup that changed since), else the plain `.backup` a
 * person makes by hand. Never a backup merely because its name sorts last.
 */
export function chosenBackup(host: Host, ctx: PlanContext): { backup: BackupFile; sha?: string } {
  const backups = ctx.fact(host.facts.backups);
  const applied = new Set(ctx.history.filter((e) => e.event === 'end' && e.outcome === 'applied').map((e) => e.runId));
  for (const event of [...ctx.history].reverse()) {
    if (!applied.has(event.runId)) continue;
    const e = event as unknown as Record<string, unknown>;
    // This release's step record, or an older release's template-written event.
    const record = e['event'] === 'step' && e['step'] === 'write-template' ? (e['record'] as { backup?: string; originalSha256?: string }) : e['event'] === 'template-written' ? { backup: host.configDir.join(String(e['backup'])).path, originalSha256: e['originalSha256'] as string | undefined } : undefined;
    if (record?.backup === undefined) continue;
    const backup = backups.find((b) => b.path.path === record.backup);
    if (backup === undefined || (record.originalSha256 !== undefined && sha256(backup.content) !== record.originalSha256)) {
      throw new StartError(
        `the backup ${record.backup} that the last apply journaled is ${backup === undefined ? 'gone' : 'no longer what it wrote (its sha256 differs)'}; refusing to guess another`,
        'no-backup',
        `Backups here: ${backups.map((b) => b.name).join(', ') || 'none'}. Compare them with the template and restore by hand (cp -p BACKUP ${host.template.path}), then rebuild.`,
      );
    }
    return { backup, sha: record.originalSha256 };
  }
  const plain = backups.find((b) => b.name === `${host.templateName}.backup`);
  if (plain !== undefined) return { backup: plain };
  const others = backups.map((b) => b.name);
  throw new StartError(
    `no journaled backup of the template in ${host.configDir.path}, and no plain ${host.templateName}.backup: nothing this tool can roll back to` +
      (others.length > 0 ? ` (backups found, none recorded by apply-ws-fix: ${others.join(', ')})` : ''),
    'no-backup',
    others.length > 0 ? 'Compare them with the template and restore by hand if one is right (cp -p BACKUP TEMPLATE), then rebuild.' : `Restore by hand from git if needed (git -C ${host.params.dir} log -- proxy-configs).`,
  );
}

// --rollback: put the chosen backup back over the fix (compare-and-swap: only over the fix itself).
function restoreBackupStep(host: Host): Step<{ backup: BackupFile }> {
  return {
    id: 'restore-backup',
    title: 'Restore the template from the backup',
    kind: 'file-restore',
    facts: [host.facts.template, host.facts.backups, fileStatFact(host.template)],
    condition: 'only when the template holds the fix (an edit by hand is never overwritten)',
    plan(ctx) {
      const { backup } = chosenBackup(host, ctx);
      const template = ctx.fact(host.facts.template);
      const checksums = { original: sha256(template), backup: sha256(backup.content), new: sha256(backup.content) };
      if (template.equals(backup.content)) return { kind: 'noop', reason: `the template already equals ${backup.name}`, checksums };
      if (!template.equals(DESIRED)) {
        throw new StartError(
          `the template was changed since the fix was applied (it is neither the fix nor ${backup.name}); refusing to overwrite it`,
          'template-edited',
          `Compare them: diff -u ${backup.path} ${host.template}; then restore by hand, or keep the edit.`,
        );
      }
      return {
        kind: 'change',
        summary: `put ${backup.name} back over ${host.template}`,
        diff: unifiedDiff(host.template.path, template, backup.content),
        // A symlinked template: its target is restored, and the link kept.
        commands: [restoreCommand(new RemotePath(ctx.fact(fileStatFact(host.template))?.linkTo ?? host.template.path), backup.path, ctx.runId, sha256(backup.content), sha256(DESIRED))],
        checksums,
        data: { backup },
      };
    },
    async apply(ctx, plan) {
      const result = await ctx.exec(plan.commands[0]!);
      if (result.code === GUARD_FAILED) throw new StepError('restore-backup', 'the template changed on the host after it was read; nothing was written', 'Run again to see the plan for the template as it is now.');
      if (result.code === BACKUP_CHANGED) throw new StepError('restore-backup', `${plan.data.backup.name} changed on the host after it was read; nothing was written`, 'Run again to see the plan as it is now.');
      if (!succeeded(result)) throw new StepError('restore-backup', `could not restore the template: ${firstLine(result)}`);
      return `${host.template} restored byte for byte from ${plan.data.backup.name}`;
    },
  } as Step<{ backup: BackupFile }>;
}

export const ocapistaineWsFix = defineRunbook({
  // id, title, description, connection and params: what --help shows without loading this module.
  ...meta,
  project: (p) => p.dir,
  describe: (p) => `${p.dir}, service ${p.service}`,
  describeFacts(p, fact) {
    const host = hostOf(p);
    const container = fact(host.facts.container);
    return `${p.dir} has ${host.templateName}; ${fact(host.facts.version)}; service ${p.service} is ${container?.status ?? 'not created'}`;
  },
  facts(p) {
    const { facts } = hostOf(p);
    // Checked in this order: the directory and its backups, the template, Compose, the service.
    return [facts.backups, facts.template, facts.version, facts.services, facts.container, facts.rendered, facts.targetUrl, facts.logs];
  },
  apply(p) {
    const host = hostOf(p);
    const when = deployWhen(host);
    return {
      steps: [
        ...fileReplace({
          path: host.template,
          content: DESIRED,
          current: host.facts.template,
          backups: host.facts.backups,
          ids: { backup: 'backup', write: 'write-template', restore: 'restore-template' },
          titles: { backup: 'Back up the template', write: 'Write the new template', restore: 'Restore the original template' },
          noun: 'the template',
          newWhat: 'the new config',
        }),
        composeBuild({ target: host.target, when, printable: [TARGET_VARIABLE], servesNow: (ctx) => servesByFacts(host, ctx, ctx.fact(host.facts.template)), condition: 'only when the template changes or the container does not serve it' }),
        composeValidate({
          target: host.target,
          id: 'validate',
          title: 'Test the new config with nginx -t',
          argv: ['nginx', '-t'],
          when,
          printable: [TARGET_VARIABLE],
          rejected: 'nginx rejects the new config; it did not go live',
          remedy: 'Fix what nginx names; the running container was not touched.',
          okLine: (said) => said.split('\n').find((line) => /test is successful|syntax is ok/.test(line))?.replace(/^.*nginx: /, ''),
          condition: 'only when the image is rebuilt',
        }),
        composeUp({
          target: host.target,
          id: 'deploy',
          title: 'Restart the service with the new image',
          when,
          printable: [TARGET_VARIABLE],
          servesNow: (ctx) => servesNow(ctx, host),
          servedByFacts: (ctx) => servesByFacts(host, ctx, ctx.fact(host.facts.template)),
          condition: 'only when the image is rebuilt or the container does not serve the template',
        }),
      ],
      checks: [...common(host), renderedCheck(host), endpointCheck(host)],
      after: [commitStep(host), pruneStep(host, p['keep-backups'])],
    };
  },
  // The rollback verifies that the old config runs; its endpoint is expected to fail the handshake again.
  rollback(p) {
    const host = hostOf(p);
    return {
      steps: [
        restoreBackupStep(host) as Step,
        composeUp({
          target: host.target,
          id: 'deploy',
          title: 'Rebuild the image and recreate the container',
          build: true,
          printable: [TARGET_VARIABLE],
          when: (ctx) => {
            if (ctx.planOf('restore-backup')?.kind === 'change') return { run: true, forceRecreate: true };
            if (servesByFacts(host, ctx, chosenBackup(host, ctx).backup.content)) return { run: false, reason: 'the running container already serves the backup\'s config' };
            return { run: true, why: 'the container does not serve the backup\'s config yet', forceRecreate: true };
          },
          servesNow: (ctx) => servesNow(ctx, host),
        }),
      ],
      checks: common(host),
      after: [commitStep(host), pruneStep(host, p['keep-backups'])],
    };
  },
  rollbackChecks: (p) => common(hostOf(p)),
  diagnose: (ctx, error, after) => diagnose(ctx, hostOf(ctx.params), error, after),
  printable: [TARGET_VARIABLE],
  headlines: {
    applied: 'Applied: the WebSocket fix is live and verified',
    'rolled-back': 'Rolled back: the previous config is running again',
    'nothing-to-roll-back': 'Nothing to roll back: the backup\'s config is already in place and running',
    healthy: 'Healthy: the WebSocket fix is in place and every check passes',
    'needs-change': 'Needs the fix: the host does not have the WebSocket config yet (nothing was changed)',
  },
  // The release before the executor journaled three kinds of change of its own; they are this runbook's steps.
  legacyJournal(event, p) {
    const host = hostOf(p);
    if (event['event'] === 'template-written' && typeof event['backup'] === 'string') {
      return { step: 'write-template', record: { path: host.template.path, backup: host.configDir.join(event['backup']).path, originalSha256: event['originalSha256'], newSha256: event['newSha256'] } };
    }
    if (event['event'] === 'image-built') return { step: 'build', record: {} };
    if (event['event'] === 'container-recreated') return { step: 'deploy', record: {} };
    return undefined;
  },
  // That release kept its lock and journal under ~/.apply-ws-fix/<dir as typed>-<service>.
  legacyStateDirs: (p) => [`${p.dir.replace(/^~\/?/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'home'}-${p.service}`],
});

export default ocapistaineWsFix;
