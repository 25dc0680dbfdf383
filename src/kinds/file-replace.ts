// A file replaced safely, in two steps: a backup that is never overwritten, then a compare-and-swap atomic write.
// The write journals what its undo needs (the backup's path and both checksums) before it writes; the undo puts the
// backup's bytes back only over this run's own bytes, so a third party's edit is never overwritten.
import { StartError, StepError } from '../errors.js';
import { sha256 } from '../lib/checksum.js';
import { unifiedDiff } from '../lib/diff.js';
import { BACKUP_CHANGED, GUARD_FAILED, atomicWriteCommand, backupCommand, catCommand, fileStatCommand, framedBackupsCommand, parseFileStat, parseFramedFiles, restoreCommand, splitPath, type FileStat } from '../lib/file-commands.js';
import { RemotePath, shellJoin } from '../shell/quote.js';
import { firstLine, succeeded } from '../transport/transport.js';
import type { Fact, PlanContext, Step, StepPlan, Undo } from '../core/types.js';

export interface BackupFile {
  name: string;
  path: RemotePath;
  content: Buffer;
}

/** The bytes of a remote file; a file that cannot be read is a failed precondition. */
export function fileFact(path: RemotePath, onError?: (why: string) => Error): Fact<Buffer> {
  return {
    id: `file:${path.path}`,
    command: catCommand(path),
    parse(result) {
      if (!succeeded(result)) throw onError?.(firstLine(result)) ?? new StartError(`${path.path} cannot be read: ${firstLine(result)}`, 'precondition-file');
      return result.stdout;
    },
  };
}

/** Whether a name is a backup of `name` with `suffix`: the plain `<name><suffix>`, or `<name><suffix>.<stamp>`. */
export function isBackupName(candidate: string, name: string, suffix: string): boolean {
  const base = name + suffix;
  return candidate === base || (candidate.startsWith(`${base}.`) && !candidate.endsWith('.tmp'));
}

/** The backups next to a file with their bytes, oldest first (the plain one, then timestamped names in time order). */
export function backupsFact(path: RemotePath, suffix: string, onError?: (why: string) => Error): Fact<BackupFile[]> {
  const { dir, name } = splitPath(path);
  return {
    id: `backups:${path.path}:${suffix}`,
    command: framedBackupsCommand(path, suffix),
    parse(result) {
      if (!succeeded(result)) throw onError?.(firstLine(result)) ?? new StartError(`cannot list ${dir.path}: ${firstLine(result)}`, 'precondition-dir');
      return parseFramedFiles(result.stdout)
        .filter((file) => isBackupName(file.name, name, suffix))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((file) => ({ ...file, path: dir.join(file.name) }));
    },
  };
}

/** Symlink, owner, mode, the SSH user, and temp files left beside the file; undefined where stat cannot say. */
export function fileStatFact(path: RemotePath): Fact<FileStat | undefined> {
  return { id: `stat:${path.path}`, command: fileStatCommand(path), parse: (result) => parseFileStat(result.stdout.toString('utf8')) };
}

/**
 * What replacing the file keeps, in words, or a refusal (exit 3) when it could not keep it: a non-root SSH user
 * cannot give a new file another owner or a group it is not in.
 */
function keeps(path: RemotePath, stat: FileStat | undefined): string {
  if (stat === undefined) return '';
  const { owner } = stat;
  if (stat.uid !== 0 && (owner.uid !== stat.uid || !stat.groups.includes(owner.gid))) {
    throw new StartError(
      `${path.path} is owned by ${owner.user}:${owner.group}, and the SSH user (uid ${stat.uid}) cannot keep that owner on a replaced file: it would become the SSH user's`,
      'file-owner',
      `Connect as ${owner.user} or as root (--user), or give the file to the SSH user first (chown); nothing was changed.`,
    );
  }
  const link = stat.linkTo ? `a symlink to ${stat.linkTo}: that file is written and the link kept; ` : '';
  return `; ${link}owner ${owner.user}:${owner.group} and mode ${stat.mode} kept`;
}

/** The timestamped backup name for a run: sortable, so the newest backup is the last by name. */
export function timestampedBackupName(base: string, runId: string): string {
  return `${base}.${runId.split('-', 1)[0]}`;
}

/** What the write's undo needs, journaled before the write: no bytes, only where they are and their checksums. */
export interface FileRecord {
  path: string;
  backup: string;
  originalSha256: string;
  newSha256: string;
}

export interface FileReplaceOptions {
  path: RemotePath;
  /** The bytes to install, or how to make them from the current bytes (one line edited, a block inserted). */
  content: Buffer | ((current: Buffer) => Buffer);
  /** Defaults: fileFact(path) and backupsFact(path, backupSuffix). */
  current?: Fact<Buffer>;
  backups?: Fact<BackupFile[]>;
  backupSuffix?: string;
  ids?: { backup?: string; write?: string; restore?: string };
  titles?: { backup?: string; write?: string; restore?: string };
  /** What the file is called in messages ("the template"). */
  noun?: string;
  /** What the new bytes are called ("the new config"). */
  newWhat?: string;
  /** The diff the operator reads; a secret-holding file gives one that shows no value. */
  diff?: (path: string, before: Buffer, after: Buffer) => string;
  /** The file holds secrets: `explain` never prints its bytes (only their checksum). */
  sensitive?: boolean;
}

/** The backup step and the write step of a replaced file, and the write's undo. */
export function fileReplace(options: FileReplaceOptions): [Step, Step] {
  const { path } = options;
  const { dir, name } = splitPath(path);
  const suffix = options.backupSuffix ?? '.backup';
  const current = options.current ?? fileFact(path);
  const backups = options.backups ?? backupsFact(path, suffix);
  const stat = fileStatFact(path);
  // A symlink's target is what gets written (the link stays); leftovers of interrupted runs go with the next change.
  const realPath = (ctx: PlanContext): RemotePath => {
    const link = ctx.fact(stat)?.linkTo;
    return link ? new RemotePath(link) : path;
  };
  const leftovers = (ctx: PlanContext): RemotePath[] => (ctx.fact(stat)?.leftovers ?? []).map((name) => dir.join(name));
  const ids = { backup: 'backup', write: 'write', restore: 'restore', ...options.ids };
  const titles = { backup: `Back up ${name}`, write: `Write ${name}`, restore: `Restore ${name}`, ...options.titles };
  const noun = options.noun ?? `the file ${name}`;
  const newWhat = options.newWhat ?? 'the new content';
  const diff = options.diff ?? unifiedDiff;
  const desiredOf = (ctx: PlanContext): Buffer => (typeof options.content === 'function' ? options.content(ctx.fact(current)) : options.content);

  // The backup that holds the bytes as read: the one this run makes, or an existing equal one.
  const backupOfOriginal = (ctx: PlanContext): BackupFile | undefined => {
    const plan = ctx.planOf(ids.backup);
    if (plan?.kind === 'change' && plan.data !== null) return { ...(plan.data as { name: string; path: RemotePath }), content: ctx.fact(current) };
    return ctx.fact(backups).find((b) => b.content.equals(ctx.fact(current)));
  };

  const backupStep: Step<{ name: string; path: RemotePath } | null> = {
    id: ids.backup,
    title: titles.backup,
    kind: 'file-backup',
    facts: [current, backups, stat],
    keptOnRollback: true,
    condition: `only when ${noun} differs from ${newWhat} and no backup holds it yet (or temp files of an interrupted run are left to remove)`,
    plan(ctx) {
      const bytes = ctx.fact(current);
      const left = leftovers(ctx);
      const cleanup: StepPlan<{ name: string; path: RemotePath } | null> = {
        kind: 'change',
        summary: `remove ${left.length} temp file(s) an interrupted run left: ${left.map((p) => p.name).join(', ')}`,
        commands: [`rm -f -- ${left.map((p) => p.toShell()).join(' ')}`],
        data: null,
      };
      if (bytes.equals(desiredOf(ctx))) return left.length > 0 ? cleanup : { kind: 'noop', reason: `${noun} already holds ${newWhat}: nothing to back up` };
      const existing = ctx.fact(backups).find((b) => b.content.equals(bytes));
      if (existing) return left.length > 0 ? { ...cleanup, summary: `${cleanup.summary} (${existing.name} already holds the current ${noun.replace(/^the /, '')})` } : { kind: 'noop', reason: `${existing.name} already holds the current ${noun.replace(/^the /, '')} (kept as it is)` };
      const base = name + suffix;
      const plain = !ctx.fact(backups).some((b) => b.name === base);
      const backupName = plain ? base : timestampedBackupName(base, ctx.runId);
      return {
        kind: 'change',
        summary: plain ? `copy ${noun.replace(/^the /, 'the ')} to ${base}` : `copy ${noun} to ${backupName} (${base} holds an older config and is kept)`,
        commands: [backupCommand(path, backupName, ctx.runId, left)],
        data: { name: backupName, path: dir.join(backupName) },
      };
    },
    async apply(ctx, plan) {
      const result = await ctx.exec(plan.commands[0]!);
      if (plan.data === null) {
        if (!succeeded(result)) throw new StepError(ids.backup, `could not remove the temp files: ${firstLine(result)}`);
        return plan.summary.replace(/^remove/, 'removed');
      }
      if (!succeeded(result)) throw new StepError(ids.backup, `could not back up ${noun} to ${plan.data.name}: ${firstLine(result)}`, 'Check free disk space and permissions in the directory.');
      if (!result.stdout.equals(ctx.fact(current))) {
        throw new StepError(ids.backup, `${noun} changed on the host after it was read (the backup ${plan.data.name} holds the newer content); nothing was written`, `Run again to see the plan for ${noun} as it is now.`);
      }
      return `${plan.data.name} (${result.stdout.length} bytes, identical to ${noun.replace(/^the /, 'the ')})`;
    },
  };

  const undo: Undo<FileRecord> = {
    id: ids.restore,
    title: titles.restore,
    order: 'restore',
    async run(ctx, record) {
      const result = await ctx.exec(restoreCommand(new RemotePath(record.path), new RemotePath(record.backup), ctx.runId, record.originalSha256, record.newSha256));
      const backupName = new RemotePath(record.backup).name;
      if (result.code === GUARD_FAILED) {
        throw new StepError('rollback', `${noun} holds content that is neither the original nor this run's config: left as it is`, `Compare it with the backup: diff -u ${record.backup} ${record.path}`);
      }
      if (result.code === BACKUP_CHANGED) {
        throw new StepError('rollback', `the backup ${record.backup} no longer holds the original (sha256 ${record.originalSha256.slice(0, 16)}…): ${noun} is left as it is`, `Find the original in git or another backup: git -C ${dir.path} log -- ${name}`);
      }
      if (!succeeded(result)) throw new StepError('rollback', `could not restore ${noun}: ${firstLine(result)}`);
      if (result.stdout.toString('utf8').trim() === 'still-original') return `${noun} still holds the original`;
      return `restored byte for byte (the bytes of ${backupName}; sha256 ${record.originalSha256.slice(0, 16)}…)`;
    },
    manual: (record) => (record === undefined ? [] : [`${shellJoin(['cp', '-p', '--', new RemotePath(record.backup), new RemotePath(record.path)])}   # ${new RemotePath(record.backup).name} holds the config from before this run`]),
    plan(ctx, record): StepPlan {
      const bytes = ctx.fact(current);
      const hash = sha256(bytes);
      if (hash === record.originalSha256) return { kind: 'noop', reason: `${noun} already holds the original (${new RemotePath(record.backup).name})` };
      const backup = ctx.fact(backups).find((b) => b.path.path === record.backup || dir.join(b.name).path === record.backup);
      if (hash !== record.newSha256) {
        throw new StartError(`${noun} was changed since it was applied (it is neither what the tool wrote nor the original); refusing to overwrite it`, 'file-edited', `Compare them: diff -u ${record.backup} ${record.path}; then restore by hand, or keep the edit.`);
      }
      if (backup === undefined || sha256(backup.content) !== record.originalSha256) {
        const candidates = ctx.fact(backups).map((b) => b.name).join(', ') || 'none';
        throw new StartError(`the backup ${record.backup} that the journal names is ${backup === undefined ? 'gone' : 'no longer the original'}; refusing to guess`, 'no-backup', `Backups found: ${candidates}. Compare and restore by hand.`);
      }
      return {
        kind: 'change',
        summary: `put ${backup.name} back over ${record.path}`,
        diff: diff(record.path, bytes, backup.content),
        commands: [restoreCommand(new RemotePath(record.path), new RemotePath(record.backup), ctx.runId, record.originalSha256, record.newSha256)],
        checksums: { original: hash, backup: record.originalSha256, new: record.originalSha256 },
        data: null,
      };
    },
  };

  const writeStep: Step<{ backup: BackupFile; desired: Buffer; real: RemotePath; record: FileRecord }, FileRecord> = {
    id: ids.write,
    title: titles.write,
    kind: 'file-replace',
    facts: [current, backups, stat],
    undo,
    condition: `only when ${noun} differs from ${newWhat}`,
    plan(ctx) {
      const bytes = ctx.fact(current);
      const desired = desiredOf(ctx);
      const backup = backupOfOriginal(ctx);
      const checksums = { original: sha256(bytes), ...(backup ? { backup: sha256(backup.content) } : {}), new: sha256(desired) };
      if (bytes.equals(desired)) return { kind: 'noop', reason: `${noun} already holds ${newWhat}`, checksums };
      if (backup === undefined) throw new Error(`internal: a change of ${path.path} was planned without a backup`);
      const kept = keeps(path, ctx.fact(stat));
      const real = realPath(ctx);
      const record: FileRecord = { path: real.path, backup: backup.path.path, originalSha256: sha256(bytes), newSha256: sha256(desired) };
      return {
        kind: 'change',
        summary: `replace ${path.path} (backup: ${backup.name}${kept})`,
        diff: diff(path.path, bytes, desired),
        commands: [atomicWriteCommand(real, ctx.runId, backup.path)],
        checksums,
        stdin: { command: 0, bytes: desired, what: `the new ${noun.replace(/^the /, '')} (${newWhat})`, ...(options.sensitive ? { sensitive: true } : {}) },
        record,
        data: { backup, desired, real, record },
      };
    },
    async apply(ctx, plan) {
      const { backup, desired, record } = plan.data;
      await ctx.record(record);
      // Compare-and-swap against the backup: refuse if the file is no longer what was backed up.
      const result = await ctx.exec(plan.commands[0]!, { stdin: desired });
      if (result.code === GUARD_FAILED) {
        ctx.forget();
        throw new StepError(ids.write, `${noun} changed on the host after it was read; nothing was written (the backup ${backup.name} is kept)`, `Run again to see the plan for ${noun} as it is now.`);
      }
      if (!succeeded(result)) throw new StepError(ids.write, `could not write ${noun}: ${firstLine(result)}`, 'Check free disk space and permissions in the directory.');
      if (!result.stdout.equals(desired)) throw new StepError(ids.write, `${noun} read back after writing differs from ${newWhat}`);
      return `${path.path} now holds ${newWhat} (${desired.length} bytes); ${backup.name} holds the original`;
    },
  };
  return [backupStep as unknown as Step, writeStep as unknown as Step];
}

/**
 * Keeps the newest `keep` timestamped backups of a file and removes the older ones, after the checks passed. Never
 * the plain `<name><suffix>` (a person's), never the one `protect` names (what a --rollback would restore). With
 * `keep` 0 it removes nothing and lists them: the plan is the list.
 */
export function pruneBackups(options: { path: RemotePath; keep: number; backups: Fact<BackupFile[]>; backupSuffix?: string; protect?: (ctx: PlanContext) => string | undefined; id?: string; title?: string }): Step {
  const { name } = splitPath(options.path);
  const plain = name + (options.backupSuffix ?? '.backup');
  return {
    id: options.id ?? 'prune-backups',
    title: options.title ?? `Keep the newest backups of ${name}`,
    kind: 'file-prune-backups',
    facts: [options.backups],
    keptOnRollback: true,
    condition: 'only with keep-backups set, and only once every check passed',
    plan(ctx) {
      const all = ctx.fact(options.backups);
      const listed = all.map((b) => b.name).join(', ') || 'none';
      if (options.keep <= 0) return { kind: 'noop', reason: `${all.length} backup(s), all kept: ${listed} (--param keep-backups=N keeps the newest N)` };
      const protectedName = options.protect?.(ctx);
      const stamped = all.filter((b) => b.name !== plain && b.name !== protectedName);
      const old = stamped.slice(0, Math.max(0, stamped.length - options.keep));
      if (old.length === 0) return { kind: 'noop', reason: `${all.length} backup(s), within keep-backups=${options.keep}: ${listed}` };
      return { kind: 'change', summary: `remove ${old.length} older backup(s), keeping the newest ${options.keep}: ${old.map((b) => b.name).join(', ')}`, commands: [shellJoin(['rm', '-f', '--', ...old.map((b) => b.path)])], data: null };
    },
    async apply(ctx, plan) {
      const result = await ctx.exec(plan.commands[0]!);
      if (!succeeded(result)) throw new StepError(options.id ?? 'prune-backups', `could not remove the older backups: ${firstLine(result)}`);
      return plan.summary.replace(/^remove/, 'removed');
    },
  };
}
