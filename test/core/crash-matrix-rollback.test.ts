// A fault at every remote command of a --rollback: fail it, cut the connection once it ran, SIGKILL the client as it
// is sent. See crash-matrix.ts for what each case asserts.
import { describe, expect, it } from 'vitest';
import { commandCount, crashCase, type CrashFault } from './crash-matrix.js';

describe('a crash at every remote command of a --rollback', () => {
  it('leaves nothing lost: the next apply and rollback converge', async () => {
    const n = await commandCount('rollback');
    expect(n).toBeGreaterThan(10);
    let struck = 0;
    let cases = 0;
    for (const fault of ['fail', 'drop', 'kill'] as CrashFault[]) {
      for (let k = 1; k <= n; k++) {
        cases++;
        if (await crashCase('rollback', fault, k)) struck++;
      }
    }
    console.log(`crash matrix (rollback): ${cases} cases over ${n} commands, the fault struck in ${struck}`);
    expect(struck).toBeGreaterThan(cases * 0.8);
  }, 900_000);
});
