// The JSON Schema of the --json report is generated from the RunReport type (npm run schema), shipped in the package,
// and every outcome's real report matches it, a fleet's array included.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ocapistaineWsFix from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { runFleet } from '../../src/core/fleet.js';
import type { Outcome, RunReport } from '../../src/core/report.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { params, runOptions } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';
import { assertReportMatchesSchema } from '../helpers/report-schema.js';

describe('the report schema', () => {
  it('is the one generated from the RunReport type (run npm run schema after changing the report)', async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { reportSchema } = (await import('../../scripts/report-schema.mjs')) as { reportSchema: () => unknown };
    const committed = JSON.parse(await readFile(join(packageRoot(), 'schema', 'report.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(reportSchema())));
  }, 60_000);

  it('refuses a report with a key the type does not have, or a wrong outcome', async () => {
    const host = await startFakeHost();
    try {
      const { report } = await runAgainst(host, { dryRun: true });
      expect(() => assertReportMatchesSchema({ ...report, extra: 1 })).toThrow(/additionalProperties/);
      expect(() => assertReportMatchesSchema({ ...report, outcome: 'sort-of-applied' })).toThrow(/outcome/);
      expect(() => assertReportMatchesSchema({ ...report, schemaVersion: 2 })).toThrow(/schemaVersion/);
    } finally {
      await host.close();
    }
  });
});

describe('every outcome matches the schema', () => {
  let host: FakeHost;
  const seen = new Set<Outcome>();
  const note = (report: RunReport) => {
    assertReportMatchesSchema(report);
    seen.add(report.outcome);
  };
  beforeAll(async () => {
    host = await startFakeHost({ crashWindowMs: 150 });
  });
  afterAll(async () => {
    await host.close();
  });

  it('from one host: each of the outcomes a run can end with', async () => {
    const fast = { settleMs: 200 };
    note((await runAgainst(host, { ...fast, dryRun: true })).report);
    note((await runAgainst(host, { action: 'check' })).report); // needs-change
    note((await runAgainst(host, fast, { confirm: async () => false })).report); // declined
    host.faults.add('health-fails');
    note((await runAgainst(host, fast)).report); // failed-and-restored
    host.faults.delete('health-fails');
    note((await runAgainst(host, fast)).report); // applied
    note((await runAgainst(host, fast)).report); // already-applied
    note((await runAgainst(host, { action: 'check' })).report); // healthy
    host.faults.add('upstream-down');
    note((await runAgainst(host, { action: 'check' })).report); // check-failed
    note((await runAgainst(host, fast)).report); // failed-nothing-changed
    host.faults.delete('upstream-down');
    note((await runAgainst(host, { ...fast, action: 'rollback' })).report); // rolled-back
    note((await runAgainst(host, { ...fast, action: 'rollback' })).report); // nothing-to-roll-back
    note((await runAgainst(host, { ...fast, dir: '~/nowhere' })).report); // could-not-start
    host.faults.add('crash-always');
    note((await runAgainst(host, fast)).report); // failed-not-restored
    const all: Outcome[] = ['applied', 'already-applied', 'dry-run', 'rolled-back', 'nothing-to-roll-back', 'declined', 'failed-nothing-changed', 'failed-and-restored', 'failed-not-restored', 'could-not-start', 'healthy', 'needs-change', 'check-failed'];
    expect([...seen].sort()).toEqual([...all].sort());
  }, 120_000);

  it('a fleet\'s array of reports', async () => {
    const other = await startFakeHost();
    try {
      const hosts = [host, other];
      const byPort = new Map(hosts.map((h) => [h.port, h]));
      const reports = await runFleet(runOptions({ dryRun: true }), hosts.map((h) => ({ host: h.host, port: h.port, user: h.user, params: params({ url: h.publicUrl }) })), ocapistaineWsFix, {
        renderer: 'silent',
        output: new PassThrough() as unknown as NodeJS.WriteStream,
        interrupt: { signal: null },
        connect: (o) => {
          const h = byPort.get(o.port)!;
          return connectSsh({ ...o, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, env: {} });
        },
      }, 2);
      expect(reports).toHaveLength(2);
      assertReportMatchesSchema(reports);
    } finally {
      await other.close();
    }
  });
});
