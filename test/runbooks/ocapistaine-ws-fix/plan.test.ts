// Table-driven: facts in, plan out (pyinfra-style). Each no-op's reason is part of the contract.
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../runbooks/ocapistaine-ws-fix/render.js';
import { sha256 } from '../../../src/lib/checksum.js';
import { BROKEN, DESIRED, TARGET, backup, facts, render, scopeWith, type HostFacts } from '../../helpers/context.js';

const plansOf = (f: HostFacts, options = {}) => scopeWith(f, options).plans();

describe('backup step', () => {
  it('backs up a broken template to .backup when there is none', () => {
    expect(plansOf(facts()).get('backup')).toMatchObject({ kind: 'change', data: { name: 'ocapistaine.conf.template.backup' } });
  });

  it('skips when the template already holds the new config', () => {
    expect(plansOf(facts({ template: DESIRED })).get('backup')).toEqual({ kind: 'noop', reason: 'the template already holds the new config: nothing to back up' });
  });

  it('keeps an existing backup that already holds the template', () => {
    expect(plansOf(facts({ backups: [backup('ocapistaine.conf.template.backup', BROKEN)] })).get('backup')).toEqual({ kind: 'noop', reason: 'ocapistaine.conf.template.backup already holds the current template (kept as it is)' });
  });

  it('never overwrites a backup that differs: the new one gets a timestamped name', () => {
    const older = Buffer.from('server { listen 80; }\n');
    expect(plansOf(facts({ backups: [backup('ocapistaine.conf.template.backup', older)] })).get('backup')).toMatchObject({ kind: 'change', data: { name: 'ocapistaine.conf.template.backup.20261126T011836Z' } });
  });
});

describe('write-template step', () => {
  it('plans the seed config with a unified diff naming the remote path, and the exact command it runs', () => {
    const plan = plansOf(facts()).get('write-template');
    expect(plan?.kind).toBe('change');
    if (plan?.kind !== 'change') return;
    expect(plan.data).toMatchObject({ backup: { name: 'ocapistaine.conf.template.backup' } });
    expect(plan.diff).toContain('--- ~/vaettir/proxy-configs/ocapistaine.conf.template');
    expect(plan.diff).toContain('+map $http_upgrade $connection_upgrade {');
    expect(plan.diff).toContain('+        proxy_set_header Upgrade $http_upgrade;');
    expect(plan.diff).not.toMatch(/^-\s+proxy_pass/m);
    expect(plan.commands).toHaveLength(1);
    expect(plan.commands[0]).toMatch(/^cd -- "\$HOME"\/vaettir\/proxy-configs && \{ cmp -s -- ocapistaine\.conf\.template "\$HOME"\/vaettir\/proxy-configs\/ocapistaine\.conf\.template\.backup /);
    expect(plan.checksums).toEqual({ original: sha256(BROKEN), backup: sha256(BROKEN), new: sha256(DESIRED) });
  });

  it('says in the plan that owner and mode are kept, and that a symlink\'s target is written with the link kept', () => {
    expect(plansOf(facts()).get('write-template')).toMatchObject({ summary: 'replace ~/vaettir/proxy-configs/ocapistaine.conf.template (backup: ocapistaine.conf.template.backup; owner jnxmas:jnxmas and mode 644 kept)' });
    const linked = facts({ stat: { ...facts().stat!, linkTo: '/srv/configs/ocapistaine.conf.template' } });
    const plan = plansOf(linked).get('write-template');
    expect(plan).toMatchObject({ summary: expect.stringContaining('a symlink to /srv/configs/ocapistaine.conf.template: that file is written and the link kept') });
    if (plan?.kind === 'change') expect(plan.commands[0]).toMatch(/^cd -- \/srv\/configs && /);
  });

  it('refuses (exit 3) a file the SSH user cannot keep the owner of, before changing anything', () => {
    const rootOwned = facts({ stat: { ...facts().stat!, owner: { uid: 0, gid: 0, user: 'root', group: 'root' } } });
    expect(() => plansOf(rootOwned)).toThrow(expect.objectContaining({ code: 'file-owner', exitCode: 3, message: expect.stringMatching(/owned by root:root/) }));
    // As root, any owner can be kept.
    expect(plansOf(facts({ stat: { ...rootOwned.stat!, uid: 0, groups: [0] } })).get('write-template')?.kind).toBe('change');
  });

  it('removes the temp files an interrupted run left, even when there is nothing else to do', () => {
    const left = facts({ template: DESIRED, rendered: render(DESIRED), stat: { ...facts().stat!, leftovers: ['.ocapistaine.conf.template.20261126T010000Z-aaaaaa.tmp'] } });
    expect(plansOf(left).get('backup')).toMatchObject({ kind: 'change', summary: 'remove 1 temp file(s) an interrupted run left: .ocapistaine.conf.template.20261126T010000Z-aaaaaa.tmp' });
  });

  it('skips an identical template', () => {
    expect(plansOf(facts({ template: DESIRED })).get('write-template')).toMatchObject({ kind: 'noop', reason: 'the template already holds the new config' });
  });

  it('sees a one-byte difference (no trailing newline) as a change', () => {
    expect(plansOf(facts({ template: DESIRED.subarray(0, -1) })).get('write-template')?.kind).toBe('change');
  });
});

describe('deploy step', () => {
  it('rebuilds and restarts after a template change, without forcing a recreate', () => {
    const plans = plansOf(facts());
    expect(plans.get('build')).toMatchObject({ kind: 'change' });
    expect(plans.get('deploy')).toMatchObject({ kind: 'change', data: { forceRecreate: false }, summary: 'docker compose --profile production --profile proxy up -d ocapistaine' });
  });

  it('skips when the running container already serves the new config', () => {
    const plans = plansOf(facts({ template: DESIRED, rendered: render(DESIRED) }));
    for (const id of ['build', 'validate', 'deploy']) expect(plans.get(id)).toEqual({ kind: 'noop', reason: 'the running container already serves the new config' });
  });

  it('recreates when the template is new but the container still serves the old config: the plan says --force-recreate, as it runs', () => {
    const plan = plansOf(facts({ template: DESIRED })).get('deploy');
    expect(plan).toMatchObject({ kind: 'change', data: { forceRecreate: true }, summary: expect.stringContaining('does not serve the template yet') });
    if (plan?.kind !== 'change') return;
    expect(plan.summary).toContain('up -d --force-recreate ocapistaine');
    expect(plan.commands.at(-1)).toContain('up -d --force-recreate ocapistaine');
  });

  it('recreates when the container is not running', () => {
    const stopped = facts({ template: DESIRED, rendered: undefined, container: { name: 'vaettir-ocapistaine-1', service: 'ocapistaine', state: 'exited', status: 'Exited (1) 3 seconds ago', health: '', exitCode: 1 } });
    expect(plansOf(stopped).get('deploy')).toMatchObject({ kind: 'change', summary: expect.stringContaining('Exited (1)') });
  });
});

describe('rollback steps', () => {
  const fixedWithBackup = () => facts({ template: DESIRED, rendered: render(DESIRED), backups: [backup('ocapistaine.conf.template.backup', BROKEN)] });

  it('restores the plain backup over the fix, and redeploys', () => {
    const plans = plansOf(fixedWithBackup(), { action: 'rollback' });
    expect(plans.get('restore-backup')).toMatchObject({ kind: 'change', data: { backup: { name: 'ocapistaine.conf.template.backup' } } });
    expect(plans.get('deploy')?.kind).toBe('change');
  });

  it('has nothing to do a second time', () => {
    const plans = plansOf(facts({ backups: [backup('ocapistaine.conf.template.backup', BROKEN)] }), { action: 'rollback' });
    expect(plans.get('restore-backup')).toMatchObject({ kind: 'noop', reason: 'the template already equals ocapistaine.conf.template.backup' });
    expect(plans.get('deploy')).toEqual({ kind: 'noop', reason: 'the running container already serves the backup\'s config' });
  });

  it('refuses without a backup (exit 3)', () => {
    expect(() => plansOf(facts({ template: DESIRED }), { action: 'rollback' })).toThrow(expect.objectContaining({ code: 'no-backup', exitCode: 3 }));
  });

  it('refuses to overwrite a template edited by hand since the fix', () => {
    const edited = facts({ template: Buffer.from('# hand edit\n'), backups: [backup('ocapistaine.conf.template.backup', BROKEN)] });
    expect(() => plansOf(edited, { action: 'rollback' })).toThrow(expect.objectContaining({ code: 'template-edited', exitCode: 3 }));
  });
});

describe('the backup a rollback picks', () => {
  const at = '2026-11-26T01:00:00Z';
  const older = backup('ocapistaine.conf.template.backup', BROKEN);
  const newer = backup('ocapistaine.conf.template.backup.20261126T020000Z', Buffer.from('# newer, from a run that failed\n'));

  it('is the one the last applied run recorded in the journal, not merely the newest', () => {
    const journal = [
      { event: 'step', runId: 'r1', at, step: 'write-template', kind: 'file-replace', record: { path: '~/vaettir/proxy-configs/ocapistaine.conf.template', backup: older.path.path, originalSha256: sha256(BROKEN), newSha256: sha256(DESIRED) } },
      { event: 'end', runId: 'r1', at, outcome: 'applied', exitCode: 0 },
      { event: 'step', runId: 'r2', at, step: 'write-template', kind: 'file-replace', record: { path: '~/vaettir/proxy-configs/ocapistaine.conf.template', backup: newer.path.path, originalSha256: sha256(newer.content), newSha256: sha256(DESIRED) } },
      { event: 'end', runId: 'r2', at, outcome: 'failed-and-restored', exitCode: 1 },
    ];
    expect(plansOf(facts({ template: DESIRED, backups: [older, newer], journal }), { action: 'rollback' }).get('restore-backup')).toMatchObject({ kind: 'change', data: { backup: { name: older.name } } });
  });

  it('reads a journal written by the release before the executor', () => {
    const journal = [
      { event: 'template-written', runId: 'r1', at, backup: newer.name, originalSha256: sha256(newer.content), newSha256: sha256(DESIRED) },
      { event: 'end', runId: 'r1', at, outcome: 'applied', exitCode: 0 },
    ];
    expect(plansOf(facts({ template: DESIRED, backups: [older, newer], journal }), { action: 'rollback' }).get('restore-backup')).toMatchObject({ kind: 'change', data: { backup: { name: newer.name } } });
  });

  it('without a journal, is the plain .backup only, never a file merely sorting last (an operator\'s .backup.orig)', () => {
    const orig = backup('ocapistaine.conf.template.backup.orig', Buffer.from('# the operator\'s own copy\n'));
    expect(plansOf(facts({ template: DESIRED, backups: [older, orig] }), { action: 'rollback' }).get('restore-backup')).toMatchObject({ data: { backup: { name: older.name } } });
    expect(() => plansOf(facts({ template: DESIRED, backups: [orig, newer] }), { action: 'rollback' })).toThrow(/none recorded by apply-ws-fix: ocapistaine\.conf\.template\.backup\.orig, ocapistaine\.conf\.template\.backup\.20261126T020000Z/);
  });

  it('refuses a journaled backup whose bytes changed since (its sha256 no longer matches)', () => {
    const journal = [
      { event: 'step', runId: 'r1', at, step: 'write-template', kind: 'file-replace', record: { path: '~/vaettir/proxy-configs/ocapistaine.conf.template', backup: older.path.path, originalSha256: sha256(Buffer.from('something else')), newSha256: sha256(DESIRED) } },
      { event: 'end', runId: 'r1', at, outcome: 'applied', exitCode: 0 },
    ];
    expect(() => plansOf(facts({ template: DESIRED, backups: [older], journal }), { action: 'rollback' })).toThrow(expect.objectContaining({ code: 'no-backup', message: expect.stringMatching(/its sha256 differs/) }));
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
