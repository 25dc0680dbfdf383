// --demo: the real tool over real SSH against the built-in fake host, no server needed.
import { run, type RunIO } from '../core/run.js';
import type { RunOptions } from '../core/options.js';
import type { Runbook } from '../core/types.js';
import { EXIT } from '../errors.js';
import { startFakeHost, type FakeHost, type FaultName } from '../fake-host/host.js';
import type { CliIO } from './main.js';
import { printReport } from './output.js';

/** Options that point a run at a fake host, keeping the operator's other choices. */
export function optionsForFakeHost(options: RunOptions, host: FakeHost): RunOptions {
  return {
    ...options,
    host: host.host,
    port: host.port,
    user: host.user,
    identity: host.privateKeyPath,
    knownHosts: host.knownHostsPath,
    // The fake host's proxy answers on its own URL: a runbook that checks a public URL checks that one.
    params: 'url' in options.params ? { ...options.params, url: host.publicUrl } : options.params,
  };
}

/** Starts a fake host, runs the requested action against it (a rollback demo applies first), and stops it. */
export async function runDemo(io: CliIO, runIO: RunIO, command: { runbook: Runbook; options: RunOptions; json: boolean; faults: string[] }): Promise<number> {
  const host = await startFakeHost();
  // Faults are switched on once the host stands, as they would strike a host that was healthy before.
  for (const fault of command.faults) host.faults.add(fault as FaultName);
  try {
    const out = command.json ? io.stderr : io.stdout;
    out.write(`Demo: a fake host speaking real SSH on 127.0.0.1:${host.port}, its proxy at ${host.publicUrl}${command.faults.length ? `, faults: ${command.faults.join(', ')}` : ''}.\n\n`);
    const options = optionsForFakeHost(command.options, host);
    if (options.action === 'rollback' && !options.dryRun) {
      out.write('First the fix is applied, so that there is something to roll back:\n');
      const applied = await run({ ...options, action: 'apply' }, command.runbook, runIO);
      printReport(io, applied, false, { headlines: command.runbook.headlines, undoHint: null });
      if (applied.exitCode !== EXIT.ok) return applied.exitCode;
      out.write('\nNow the rollback:\n');
    }
    const report = await run(options, command.runbook, runIO);
    // The demo's host is thrown away when the demo ends, so "the same command with --rollback" would start a fresh,
    // broken host with nothing to roll back: point at the demo that shows a rollback instead.
    printReport(io, report, command.json, { headlines: command.runbook.headlines, undoHint: 'To see a rollback: apply-ws-fix --demo --rollback (each demo starts a fresh host)' });
    return report.exitCode;
  } finally {
    await host.close();
  }
}
