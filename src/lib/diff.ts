// The unified diff an operator reads before saying yes.
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from 'diff';

/** A unified diff of a file, with its remote path as both file names. */
export function unifiedDiff(path: string, before: Buffer, after: Buffer): string {
  return createTwoFilesPatch(path, path, before.toString('utf8'), after.toString('utf8'), 'on the host', 'apply-ws-fix', { context: 3, headerOptions: FILE_HEADERS_ONLY });
}
