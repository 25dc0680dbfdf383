// Checksums recorded in reports, so an operator can compare files by hand.
import { createHash } from 'node:crypto';

/** Hex sha256 of some bytes. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
