// Table-driven: facts in, plan out (pyinfra-style). Each no-op's reason is part of the contract.
import { describe, expect, it } from 'vitest';
import { backupStep } from '../../src/steps/backup.js';
import { deployStep } from '../../src/steps/deploy.js';
import { redeployBackupStep, restoreBackupStep } from '../../src/steps/restore-backup.js';
import { renderTemplate } from '../../src/steps/render.js';
import { writeTemplateStep } from '../../src/steps/write-template.js';
import { BROKEN, DESIRED, TARGET, backup, contextWith, facts, render } from '../helpers/context.js';

describe('backup step', () => {
  it('backs up a broken template to .backup when there is none', () => {
    const plan = backupStep.plan(contextWith(facts()));
    expect(plan).toMatchObject({ kind: 'change', name: 'ocapistaine.conf.template.backup' });
  });

  it('skips when the template already holds the new config', () => {
    expect(backupStep.plan(contextWith(facts({ template: DESIRED })))).toEqual({ kind: 'noop', reason: 'the template already holds the new config: nothing to back up' });
  });

  it('keeps an existing backup that already holds the template', () => {
    const plan = backupStep.plan(contextWith(facts({ backups: [backup('ocapistaine.conf.template.backup', BROKEN)] })));
    expect(plan).toEqual({ kind: 'noop', reason: 'ocapistaine.conf.template.backup already holds the current template (kept as it is)' });
  });

  it('never overwrites a backup that differs: the new one gets a timestamped name', () => {
    const older = Buffer.from('server { listen 80; }\n');
    const plan = backupStep.plan(contextWith(facts({ backups: [backup('ocapistaine.conf.template.backup', older)] })));
    expect(plan).toMatchObject({ kind: 'change', name: 'ocapistaine.conf.template.backup.20261126T011836Z' });
  });
});

describe('write-template step', () => {
  it('plans the seed config with a unified diff naming the remote path', () => {
    const plan = writeTemplateStep.plan(contextWith(facts()));
    expect(plan.kind).toBe('change');
    if (plan.kind !== 'change') return;
    expect(plan.backup).toBe('ocapistaine.conf.template.backup');
    expect(plan.diff).toContain('--- ~/vaettir/proxy-configs/ocapistaine.conf.template');
    expect(plan.diff).toContain('+map $http_upgrade $connection_upgrade {');
    expect(plan.diff).toContain('+        proxy_set_header Upgrade $http_upgrade;');
    expect(plan.diff).not.toMatch(/^-\s+proxy_pass/m);
  });

  it('skips an identical template', () => {
    expect(writeTemplateStep.plan(contextWith(facts({ template: DESIRED })))).toEqual({ kind: 'noop', reason: 'the template already holds the new config' });
  });

  it('sees a one-byte difference (no trailing newline) as a change', () => {
    expect(writeTemplateStep.plan(contextWith(facts({ template: DESIRED.subarray(0, -1) }))).kind).toBe('change');
  });
});

describe('deploy step', () => {
  it('rebuilds and restarts after a template change, without forcing a recreate', () => {
    expect(deployStep.plan(contextWith(facts()))).toMatchObject({ kind: 'change', forceRecreate: false });
  });

  it('skips when the running container already serves the new config', () => {
    const fixed = facts({ template: DESIRED, rendered: render(DESIRED) });
    expect(deployStep.plan(contextWith(fixed))).toEqual({ kind: 'noop', reason: 'the running container already serves the new config' });
  });

  it('recreates when the template is new but the container still serves the old config', () => {
    expect(deployStep.plan(contextWith(facts({ template: DESIRED })))).toMatchObject({ kind: 'change', forceRecreate: true, summary: expect.stringContaining('does not serve the template yet') });
  });

  it('recreates when the container is not running', () => {
    const stopped = facts({ template: DESIRED, rendered: undefined, container: { name: 'vaettir-ocapistaine-1', service: 'ocapistaine', state: 'exited', status: 'Exited (1) 3 seconds ago', health: '', exitCode: 1 } });
    expect(deployStep.plan(contextWith(stopped))).toMatchObject({ kind: 'change', summary: expect.stringContaining('Exited (1)') });
  });
});

describe('rollback steps', () => {
  const fixedWithBackup = () => facts({ template: DESIRED, rendered: render(DESIRED), backups: [backup('ocapistaine.conf.template.backup', BROKEN)] });

  it('restores the newest backup over the fix', () => {
    const plan = restoreBackupStep.plan(contextWith(fixedWithBackup(), { action: 'rollback' }));
    expect(plan).toMatchObject({ kind: 'change', backup: { name: 'ocapistaine.conf.template.backup' } });
    expect(redeployBackupStep.plan(contextWith(fixedWithBackup(), { action: 'rollback' })).kind).toBe('change');
  });

  it('has nothing to do a second time', () => {
    const rolledBack = facts({ backups: [backup('ocapistaine.conf.template.backup', BROKEN)] });
    const ctx = contextWith(rolledBack, { action: 'rollback' });
    expect(restoreBackupStep.plan(ctx)).toEqual({ kind: 'noop', reason: 'the template already equals ocapistaine.conf.template.backup' });
    expect(redeployBackupStep.plan(ctx)).toEqual({ kind: 'noop', reason: 'the running container already serves the backup\'s config' });
  });

  it('refuses without a backup (exit 3)', () => {
    expect(() => restoreBackupStep.plan(contextWith(facts({ template: DESIRED }), { action: 'rollback' }))).toThrow(expect.objectContaining({ code: 'no-backup', exitCode: 3 }));
  });

  it('refuses to overwrite a template edited by hand since the fix', () => {
    const edited = facts({ template: Buffer.from('# hand edit\n'), backups: [backup('ocapistaine.conf.template.backup', BROKEN)] });
    expect(() => restoreBackupStep.plan(contextWith(edited, { action: 'rollback' }))).toThrow(expect.objectContaining({ code: 'template-edited', exitCode: 3 }));
  });

  it('picks the newest of several backups', () => {
    const newer = Buffer.from('# newer\n');
    const several = facts({ template: DESIRED, backups: [backup('ocapistaine.conf.template.backup', BROKEN), backup('ocapistaine.conf.template.backup.20261126T011836Z', newer)] });
    expect(restoreBackupStep.plan(contextWith(several, { action: 'rollback' }))).toMatchObject({ backup: { content: newer } });
  });
});

describe('renderTemplate', () => {
  it('substitutes only the listed variable, in both forms, and leaves nginx variables alone', () => {
    const out = renderTemplate(Buffer.from('proxy_pass ${OCAPISTAINE_TARGET_URL}; x $OCAPISTAINE_TARGET_URL/h; $OCAPISTAINE_TARGET_URLX $http_upgrade ${host}'), { OCAPISTAINE_TARGET_URL: TARGET });
    expect(out.toString()).toBe(`proxy_pass ${TARGET}; x ${TARGET}/h; $OCAPISTAINE_TARGET_URLX $http_upgrade \${host}`);
  });

  it('renders the seed config as the entrypoint would', () => {
    expect(renderTemplate(DESIRED, { OCAPISTAINE_TARGET_URL: TARGET })).toEqual(render(DESIRED));
  });
});

describe('the backup a rollback picks', () => {
  it('is the one the last applied run recorded in the journal, not merely the newest', () => {
    const older = backup('ocapistaine.conf.template.backup', BROKEN);
    const newer = backup('ocapistaine.conf.template.backup.20261126T020000Z', Buffer.from('# newer, from a run that failed\n'));
    const at = '2026-11-26T01:00:00Z';
    const journal = [
      { event: 'template-written' as const, runId: 'r1', at, backup: older.name, originalSha256: '', newSha256: '' },
      { event: 'end' as const, runId: 'r1', at, outcome: 'applied', exitCode: 0 },
      { event: 'template-written' as const, runId: 'r2', at, backup: newer.name, originalSha256: '', newSha256: '' },
      { event: 'end' as const, runId: 'r2', at, outcome: 'failed-and-restored', exitCode: 1 },
    ];
    const ctx = contextWith(facts({ template: DESIRED, backups: [older, newer], journal }), { action: 'rollback' });
    expect(restoreBackupStep.plan(ctx)).toMatchObject({ kind: 'change', backup: { name: older.name } });
    const noJournal = contextWith(facts({ template: DESIRED, backups: [older, newer] }), { action: 'rollback' });
    expect(restoreBackupStep.plan(noJournal)).toMatchObject({ kind: 'change', backup: { name: newer.name } });
  });
});
