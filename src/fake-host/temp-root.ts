import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

// A fake host's temp dir, also removed at process exit if close() never ran (a crashed test, an early exit).
export async function makeTempRoot(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'apply-ws-fix-fake-host-'));
  live.add(path);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const dir of live) rmSync(dir, { recursive: true, force: true });
    });
  }
  return {
    path,
    remove: async () => {
      live.delete(path);
      await rm(path, { recursive: true, force: true });
    },
  };
}
