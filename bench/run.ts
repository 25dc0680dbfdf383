// npm run bench: apply-ws-fix measured side by side with a plain ssh script (the floor) and an Ansible
// playbook on the real-sshd test host, through a 25 ms delay proxy, as a fleet of fake hosts, and at
// cold start. Prints every figure and every target (PASS/MISS), writes bench/results.json.
// Knobs (environment): BENCH_RUNS (default 5), BENCH_SETTLE seconds (default 1),
// BENCH_ONLY=cold,host,latency,fleet (default all).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { analyse, cliArgs, CLI, expectOutcome, runCli, wavesOf, type AwfRun, type Target } from './awf.js';
import { startDelayProxy, type TrafficCount } from './delay-proxy.js';
import { fleetPinning, runFleetOnce, type FleetRun } from './fleet.js';
import { describeMachine, machineLine } from './machine.js';
import { ensureAnsible, runAnsible, runPlain, type PeerRun } from './peers.js';
import { loadHarness, REPO, type BenchRealHost } from './real-host.js';
import { cleanEnv, spawnTimed } from './spawn.js';
import { median, ratio, seconds, summarize, type Summary } from './stats.js';

const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 5));
const SETTLE_S = Number(process.env['BENCH_SETTLE'] ?? 1);
const COLD_RUNS = Math.max(10, 2 * RUNS);
const DELAY_MS = 25;
const CONCURRENCY = 10;
// The fleet rows: hosts, concurrency, runs (500 hosts: one run, it takes over a minute; its RSS is a high-water mark).
const FLEET_SIZES: ReadonlyArray<{ hosts: number; concurrency: number; runs: number; hostsOnAllCores?: boolean }> = [
  { hosts: 1, concurrency: CONCURRENCY, runs: RUNS },
  { hosts: 10, concurrency: CONCURRENCY, runs: RUNS },
  { hosts: 50, concurrency: CONCURRENCY, runs: RUNS },
  // Its hosts on every core: on one core, their ~0.25 s of CPU per host alone is 2 minutes; the row's targets are the
  // tool's peak RSS and CPU per host, which the hosts' core does not change.
  { hosts: 500, concurrency: 50, runs: 1, hostsOnAllCores: true },
];
const FLEET_CRASH_WINDOW_MS = process.env['BENCH_CRASH_WINDOW'] ? Number(process.env['BENCH_CRASH_WINDOW']) : undefined;
const FLEET_PINNING = fleetPinning();
const ONLY = new Set((process.env['BENCH_ONLY'] ?? 'cold,host,latency,fleet').split(',').map((s) => s.trim()));
const RESULTS = join(REPO, 'bench', 'results.json');

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const note = (line: string): void => void process.stderr.write(`  · ${line}\n`);
const ms = (values: readonly number[]): Summary => summarize(values.map((v) => Math.round(v)));
const pad = (cells: readonly string[], widths: readonly number[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  out(pad(header, widths));
  out(pad(widths.map((w) => '-'.repeat(w)), widths));
  for (const row of rows) out(pad(row, widths));
}

interface Target_ {
  name: string;
  limit: string;
  measured: string;
  pass: boolean | null;
  by: string;
}
const targets: Target_[] = [];

/** A "≤ limit" target on a number; by how much it is missed or met. */
function atMost(name: string, value: number, limit: number, unit: (v: number) => string): void {
  if (!Number.isFinite(value)) {
    targets.push({ name, limit: `≤ ${unit(limit)}`, measured: 'n/a', pass: null, by: 'not measured' });
    return;
  }
  const pass = value <= limit;
  const diff = Math.abs(value - limit);
  const by = diff === 0 ? 'at the limit' : `${pass ? 'under' : 'over'} by ${unit(diff)} (${((diff / limit) * 100).toFixed(0)}%)`;
  targets.push({ name, limit: `≤ ${unit(limit)}`, measured: unit(value), pass, by });
}

function atLeast(name: string, value: number, limit: number, unit: (v: number) => string): void {
  if (!Number.isFinite(value)) {
    targets.push({ name, limit: `≥ ${unit(limit)}`, measured: 'n/a', pass: null, by: 'not measured' });
    return;
  }
  const pass = value >= limit;
  const diff = Math.abs(value - limit);
  targets.push({ name, limit: `≥ ${unit(limit)}`, measured: unit(value), pass, by: `${pass ? 'above' : 'short'} by ${unit(diff)} (${((diff / limit) * 100).toFixed(0)}%)` });
}

const sec = (v: number): string => seconds(v);
const times = (v: number): string => `${v.toFixed(2)}×`;
const count = (v: number): string => `${Math.round(v * 10) / 10}`;
const mib = (v: number): string => `${v.toFixed(0)} MiB`;
const msText = (v: number): string => `${Math.round(v)} ms`;

/** The commit the product was built from, and whether src/ or runbooks/ had changes not committed yet. */
function productRevision(): string {
  const git = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head === null) return 'not a git checkout';
  const dirty = (git(['status', '--porcelain', '--', 'src', 'runbooks']) ?? '').split('\n').filter(Boolean).length;
  return `commit ${head}${dirty > 0 ? ` + ${dirty} uncommitted file(s) in src/ runbooks/` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// 5. Cold start: --help, --version and node -e 0 measured round robin in one loop (each round in another order), so
// whatever else loads the machine hits all three alike; first idle, then with two CPU hogs running (busy child
// processes, one per core of a two-core machine), where a heavy module graph shows as it would on a busy CI runner.
const COLD_COMMANDS = { help: [CLI, '--help'], version: [CLI, '--version'], nodeBaseline: ['-e', '0'] } as const;
type ColdName = keyof typeof COLD_COMMANDS;

async function coldRounds(): Promise<Record<ColdName, Summary>> {
  const names = Object.keys(COLD_COMMANDS) as ColdName[];
  const walls: Record<ColdName, number[]> = { help: [], version: [], nodeBaseline: [] };
  for (let i = 0; i < COLD_RUNS; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]!;
      const t = await spawnTimed(process.execPath, COLD_COMMANDS[name], { env: cleanEnv() });
      if (t.code !== 0) throw new Error(`${COLD_COMMANDS[name].join(' ')} exited ${t.code}: ${t.stderr}`);
      walls[name].push(t.wallMs);
    }
  }
  return { help: ms(walls.help), version: ms(walls.version), nodeBaseline: ms(walls.nodeBaseline) };
}

// Two processes that spin until killed, killed however the measurement ends; one whose parent died (a bench stopped
// by a signal, which skips 'exit') or that spun for 15 minutes stops by itself.
const HOG = 'const parent = process.ppid, end = Date.now() + 15 * 60_000; for (;;) { for (let i = 0; i < 1e6; i++); if (process.ppid !== parent || Date.now() > end) process.exit(); }';

async function withCpuHogs<T>(body: () => Promise<T>): Promise<T> {
  const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
  const killAll = (): void => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    // Each hog must be spinning before the first measurement: wait until both have used CPU time of their own.
    const started = performance.now();
    while (!hogs.every((hog) => hog.pid !== undefined && cpuTicks(hog.pid) > 20) && performance.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
    return await body();
  } finally {
    killAll();
    process.off('exit', killAll);
  }
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15); 0 where it cannot be read.
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

async function coldStart(): Promise<Record<string, Summary>> {
  const idle = await coldRounds();
  const loaded = await withCpuHogs(coldRounds);
  return { ...idle, helpLoaded: loaded.help, versionLoaded: loaded.version, nodeBaselineLoaded: loaded.nodeBaseline };
}

// ---------------------------------------------------------------------------------------------------
// 1-3. The real-sshd test host
interface HostResults {
  awf: { apply: AwfRun[]; noop: AwfRun[] };
  plain: { apply: PeerRun[]; noop: PeerRun[] };
  plainCm: { apply: PeerRun[]; noop: PeerRun[] };
  ansible: { apply: PeerRun[]; noop: PeerRun[]; missing: string | null };
  latency: {
    apply25: Array<AwfRun & { traffic: TrafficCount }>;
    noop25: Array<AwfRun & { traffic: TrafficCount }>;
    noop0: Array<AwfRun & { traffic: TrafficCount }>;
    /** An apply whose endpoint check fails (/_stcore/health answers 503), so it rolls back by itself. */
    unwound25: Array<AwfRun & { traffic: TrafficCount }>;
    /** --rollback of a good apply. */
    rollback25: Array<AwfRun & { traffic: TrafficCount }>;
  } | null;
  sshConnectionsPerRun: number[];
}

function targetOf(host: BenchRealHost, port = host.port, knownHosts = host.knownHostsPath): Target {
  return { port, user: host.user, identity: host.privateKeyPath, knownHosts, url: host.publicUrl };
}

function countAccepted(host: BenchRealHost): number {
  try {
    return (readFileSync(host.logs.sshd, 'utf8').match(/Accepted publickey for /g) ?? []).length;
  } catch {
    return Number.NaN;
  }
}

// The engine the real-host rows ran on (set when the host starts).
let engineVersions: { engine: string; compose: string; client: string } | undefined;

async function realHostSection(withLatency: boolean, withHost: boolean): Promise<HostResults | { unavailable: string }> {
  const harness = await loadHarness();
  let missing = harness.realHostPrerequisites();
  if (missing.length > 0 && process.getuid?.() === 0) {
    note(`real test host: missing ${missing.join('; ')}; running test/e2e/install-deps.sh (setup, not timed)`);
    spawnSync('bash', [join(REPO, 'test', 'e2e', 'install-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    missing = harness.realHostPrerequisites();
  }
  if (missing.length > 0) return { unavailable: `the real-sshd test host cannot run here: ${missing.join('; ')}` };

  const ansibleMissing = withHost ? ensureAnsible(note) : 'not measured (BENCH_ONLY)';
  note('starting the real test host (OpenSSH sshd, Docker Engine + Compose v2, nginx container, TLS upstream)…');
  const host = await harness.startRealHost({ user: 'awf-bench' });
  engineVersions = host.versions;
  const stop = (): void => {
    void host.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const results: HostResults = {
    awf: { apply: [], noop: [] },
    plain: { apply: [], noop: [] },
    plainCm: { apply: [], noop: [] },
    ansible: { apply: [], noop: [], missing: ansibleMissing },
    latency: null,
    sshConnectionsPerRun: [],
  };
  const target = targetOf(host);
  try {
    // Round-robin over the tools each repetition, so a slow moment of the machine hits all of them.
    for (let i = 0; withHost && i < RUNS; i++) {
      note(`real host, repetition ${i + 1}/${RUNS}`);
      await host.reset();
      const before = countAccepted(host);
      const apply = await runCli(target, SETTLE_S, true);
      expectOutcome(apply, 'applied', 'apply-ws-fix apply');
      results.sshConnectionsPerRun.push(countAccepted(host) - before);
      results.awf.apply.push(apply);
      const noop = await runCli(target, SETTLE_S, false);
      expectOutcome(noop, 'already-applied', 'apply-ws-fix no-op');
      results.awf.noop.push(noop);

      for (const [bucket, cm] of [[results.plain, false], [results.plainCm, true]] as const) {
        await host.reset();
        const a = await runPlain(host, cm);
        const n = await runPlain(host, cm);
        if (!a.changed || n.changed) throw new Error(`plain-ssh: apply changed=${a.changed}, re-run changed=${n.changed}`);
        bucket.apply.push(a);
        bucket.noop.push(n);
      }
      if (ansibleMissing === null) {
        await host.reset();
        const a = await runAnsible(host);
        const n = await runAnsible(host);
        if (!a.changed || n.changed) throw new Error(`ansible: apply changed=${a.changed}, re-run changed=${n.changed}`);
        results.ansible.apply.push(a);
        results.ansible.noop.push(n);
      }
    }

    if (withLatency) {
      // Through the delay proxy: the host key is the sshd's, known under the proxy's port.
      const [slow, fast] = await Promise.all([startDelayProxy({ host: '127.0.0.1', port: host.port }, DELAY_MS), startDelayProxy({ host: '127.0.0.1', port: host.port }, 0)]);
      const dir = mkdtempSync(join(tmpdir(), 'awf-bench-latency-'));
      try {
        const line = readFileSync(host.knownHostsPath, 'utf8').trim();
        const knownHosts = (port: number): string => {
          const path = join(dir, `known_hosts.${port}`);
          writeFileSync(path, `${line.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${port}`)}\n`);
          return path;
        };
        const slowTarget = targetOf(host, slow.port, knownHosts(slow.port));
        const fastTarget = targetOf(host, fast.port, knownHosts(fast.port));
        type Counted = AwfRun & { traffic: TrafficCount };
        const latency = { apply25: [] as Counted[], noop25: [] as Counted[], noop0: [] as Counted[], unwound25: [] as Counted[], rollback25: [] as Counted[] };
        const through = async (proxy: typeof slow, t: Target, outcome: string, extra: string[] = [], exitCode = 0): Promise<Counted> => {
          proxy.reset();
          const run = await runCli(t, SETTLE_S, true, extra);
          expectOutcome(run, outcome, `apply-ws-fix ${extra.join(' ')} through the ${proxy.delayMs} ms proxy`, exitCode);
          return { ...run, traffic: proxy.count() };
        };
        for (let i = 0; i < RUNS; i++) {
          note(`latency, repetition ${i + 1}/${RUNS}`);
          await host.reset();
          latency.apply25.push(await through(slow, slowTarget, 'applied'));
          // One untimed no-op first (the host is busiest right after a restart), then the pair in alternating order.
          await through(fast, fastTarget, 'already-applied');
          const pair = i % 2 === 0 ? ([[fast, fastTarget, latency.noop0], [slow, slowTarget, latency.noop25]] as const) : ([[slow, slowTarget, latency.noop25], [fast, fastTarget, latency.noop0]] as const);
          for (const [proxy, t, bucket] of pair) bucket.push(await through(proxy, t, 'already-applied'));
          latency.rollback25.push(await through(slow, slowTarget, 'rolled-back', ['--rollback']));
          // The rollback path: the same apply, but the endpoint check fails and the run puts everything back.
          await host.reset();
          await host.setFault('health-fails');
          try {
            latency.unwound25.push(await through(slow, slowTarget, 'failed-and-restored', [], 1));
          } finally {
            await host.clearFaults();
          }
        }
        results.latency = latency;
      } finally {
        await Promise.all([slow.close(), fast.close()]);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    note('closing the real test host…');
    await host.close();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------
async function fleetSection(): Promise<Record<number, FleetRun[]>> {
  const results: Record<number, FleetRun[]> = {};
  const only = process.env['BENCH_FLEET_SIZES']?.split(',').map(Number);
  const rows = FLEET_SIZES.filter((r) => !only || only.includes(r.hosts));
  for (const r of rows) results[r.hosts] = [];
  // Round-robin over the sizes each repetition, so a busy moment of the shared machine hits every size, not one; a row
  // of fewer runs (500 hosts) runs in the last repetitions.
  const repetitions = Math.max(...rows.map((r) => r.runs));
  for (let i = 0; i < repetitions; i++) {
    for (const { hosts: n, concurrency, runs, hostsOnAllCores } of rows) {
      if (i < repetitions - runs) continue;
      const pinning = hostsOnAllCores && FLEET_PINNING.hosts !== null ? { ...FLEET_PINNING, hosts: null } : FLEET_PINNING;
      note(`fleet of ${n} fake host(s) at concurrency ${concurrency}, ${DELAY_MS} ms each way, run ${i + 1 - (repetitions - runs)}/${runs} (load ${loadavg()[0]!.toFixed(1)})`);
      results[n]!.push(await runFleetOnce({ count: n, concurrency, settleMs: SETTLE_S * 1000, delayMs: DELAY_MS, crashWindowMs: FLEET_CRASH_WINDOW_MS, pinning }));
    }
  }
  return results;
}

// Which wave of remote commands each round trip of a run through the delay proxy belongs to.
function roundsByWave(run: AwfRun & { traffic: TrafficCount }): Array<{ label: string; rounds: number }> {
  const waves = wavesOf(run);
  const buckets = [
    { label: 'connect (SSH handshake, key exchange, auth)', rounds: 0 },
    ...waves.map((w) => ({ label: w.commands.length > 1 ? `${w.commands.length} concurrent (${[...new Set(w.commands)].join(', ')})` : w.commands[0]!, rounds: 0 })),
    { label: 'after the last logged command (release the lock, unlogged; close)', rounds: 0 },
  ];
  for (const r of run.traffic.roundTimes) {
    if (r > run.lastCommandEnd + 5) {
      buckets[buckets.length - 1]!.rounds++;
      continue;
    }
    let index = -1;
    waves.forEach((w, i) => {
      if (w.t <= r + 5) index = i;
    });
    buckets[index + 1]!.rounds++;
  }
  return buckets.filter((b) => b.rounds > 0);
}

// ---------------------------------------------------------------------------------------------------
function overheadOf(run: AwfRun, settleMs: number): { nonRemote: number; startup: number; connect: number; rest: number } {
  const nonRemote = run.wallMs - run.remoteBusyMs - settleMs;
  const startup = run.startupMs ?? 0;
  const connect = run.connectMs ?? 0;
  return { nonRemote, startup, connect, rest: nonRemote - startup - connect };
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const machine = describeMachine();
  const date = new Date().toISOString();
  out(`apply-ws-fix benchmark — ${date}`);
  out(`machine: ${machineLine(machine)}`);
  const revision = productRevision();
  out(`product: ${revision} (the built dist/, measured as it is)`);
  out(`method: medians of ${RUNS} runs (cold start: ${COLD_RUNS}); every tool spawned as a user runs it; apply-ws-fix with --yes --json --settle ${SETTLE_S}; loopback only`);
  out();

  const json: Record<string, unknown> = { date, machine, revision, config: { runs: RUNS, coldRuns: COLD_RUNS, settleSeconds: SETTLE_S, delayMs: DELAY_MS, concurrency: CONCURRENCY } };

  // 5 first: it needs nothing but the build.
  let cold: Record<string, Summary> | null = null;
  if (ONLY.has('cold')) {
    note('cold start…');
    cold = await coldStart();
    json['coldStart'] = cold;
  }

  let host: HostResults | { unavailable: string } | null = null;
  if (ONLY.has('host') || ONLY.has('latency')) host = await realHostSection(ONLY.has('latency'), ONLY.has('host'));
  let fleet: Record<number, FleetRun[]> | null = null;
  if (ONLY.has('fleet')) fleet = await fleetSection();

  // ------------------------------------------------------------------ 1. side by side
  const settleMs = SETTLE_S * 1000;
  let awfNoop = Number.NaN;
  let awfApplyEx = Number.NaN;
  let ansibleNoop = Number.NaN;
  let floorApply = Number.NaN;
  let floorNoopAll = Number.NaN;
  let awfApplyExValidate = Number.NaN;
  if (host && 'unavailable' in host) {
    out(`1-3. real-sshd test host: n/a — ${host.unavailable}`);
    json['realHost'] = { unavailable: host.unavailable };
  } else if (host && host.awf.apply.length > 0) {
    const h = host;
    const s = {
      awfNoop: ms(h.awf.noop.map((r) => r.wallMs)),
      awfApply: ms(h.awf.apply.map((r) => r.wallMs)),
      awfApplyEx: ms(h.awf.apply.map((r) => r.wallMs - settleMs)),
      runningStep: ms(h.awf.apply.map((r) => r.steps.find((st) => st.id === 'running')?.durationMs ?? Number.NaN)),
      plainNoop: ms(h.plain.noop.map((r) => r.wallMs)),
      plainApply: ms(h.plain.apply.map((r) => r.wallMs)),
      cmNoop: ms(h.plainCm.noop.map((r) => r.wallMs)),
      cmApply: ms(h.plainCm.apply.map((r) => r.wallMs)),
      ansibleNoop: h.ansible.noop.length ? ms(h.ansible.noop.map((r) => r.wallMs)) : null,
      ansibleApply: h.ansible.apply.length ? ms(h.ansible.apply.map((r) => r.wallMs)) : null,
    };
    awfNoop = s.awfNoop.median;
    awfApplyEx = s.awfApplyEx.median;
    ansibleNoop = s.ansibleNoop?.median ?? Number.NaN;
    floorApply = Math.min(s.cmApply.median, s.plainApply.median);
    const floorNoop = Math.min(s.cmNoop.median, s.plainNoop.median);
    floorNoopAll = floorNoop;
    // The floor never tests the new config in a throwaway container: the apply without that step, for comparison.
    awfApplyExValidate = median(h.awf.apply.map((r) => r.wallMs - settleMs - (r.steps.find((st) => st.id === 'validate')?.durationMs ?? 0)));
    const range = (x: Summary | null): string => (x ? `${seconds(x.min)}–${seconds(x.max)}` : 'n/a');
    const v = engineVersions;
    out(`1. No-op re-run and full apply on the real-sshd test host: OpenSSH sshd, a real Docker Engine ${v?.engine ?? '?'} with Compose ${v?.compose ?? '?'}`);
    out('   (docker client ' + (v?.client ?? '?') + '), the nginx container built and recreated for real on every apply; the plain-ssh floor runs against the same engine.');
    out(`   apply-ws-fix apply: --settle ${SETTLE_S} (default 3); "apply" excludes the deliberate settle wait of ${SETTLE_S} s, reported on its own row.`);
    out('   plain-ssh: bench/peers/plain-ssh.sh, one `ssh` per seed step; "ControlMaster" reuses ONE connection (ControlMaster=auto, fresh master each run).');
    out(`   ansible: bench/peers/ansible/playbook.yml, Debian's ansible, defaults (ssh ControlPersist=60s, no pipelining), gather_facts: false, fresh ControlPath each run.`);
    const row = (name: string, noop: Summary | null, apply: Summary | null): string[] => [
      name,
      noop ? seconds(noop.median) : 'n/a',
      range(noop),
      apply ? seconds(apply.median) : 'n/a',
      range(apply),
      noop ? ratio(noop.median, awfNoop) : 'n/a',
      apply ? ratio(apply.median, awfApplyEx) : 'n/a',
    ];
    table(['tool', 'no-op', '(min–max)', 'apply', '(min–max)', 'no-op vs awf', 'apply vs awf'], [
      row('apply-ws-fix', s.awfNoop, s.awfApplyEx),
      ['  + settle wait (deliberate)', '', '', seconds(settleMs), '', '', ''],
      ['  = apply incl. settle', '', '', seconds(s.awfApply.median), range(s.awfApply), '', ''],
      row('plain-ssh, ControlMaster', s.cmNoop, s.cmApply),
      row('plain-ssh, no ControlMaster', s.plainNoop, s.plainApply),
      s.ansibleNoop ? row('ansible-playbook', s.ansibleNoop, s.ansibleApply) : ['ansible-playbook', 'n/a', '', 'n/a', '', '', ''],
    ]);
    if (h.ansible.missing) out(`   ansible rows n/a: ${h.ansible.missing}`);
    out(`   apply-ws-fix vs the floor (fastest plain-ssh): no-op ${ratio(awfNoop, floorNoop)}, apply ${ratio(awfApplyEx, floorApply)} (excluding settle); vs Ansible: no-op ${ratio(ansibleNoop, awfNoop)} faster, apply ${ratio(s.ansibleApply?.median ?? Number.NaN, awfApplyEx)} faster.`);
    out(`   the "running" step (ps polls + settle) took ${seconds(s.runningStep.median)} of the apply.`);
    out(`   SSH connections per apply (sshd log "Accepted publickey"): ${h.sshConnectionsPerRun.join(', ')}`);
    out();

    // ------------------------------------------------------------------ 2. overhead
    const oh = (runs: AwfRun[], settle: number) => {
      const parts = runs.map((r) => ({ ...overheadOf(r, settle), busy: r.remoteBusyMs, sum: r.remoteSumMs, commands: r.commands, wall: r.wallMs }));
      const m = (f: (p: (typeof parts)[number]) => number): number => median(parts.map(f));
      return { wall: m((p) => p.wall), busy: m((p) => p.busy), sum: m((p) => p.sum), commands: m((p) => p.commands), nonRemote: m((p) => p.nonRemote), startup: m((p) => p.startup), connect: m((p) => p.connect), rest: m((p) => p.rest) };
    };
    // The no-op's --verbose runs are the latency section's runs through the 0 ms proxy (a pass-through).
    const ohNoop = h.latency ? oh(h.latency.noop0, 0) : null;
    const ohApply = oh(h.awf.apply, settleMs);
    out('2. Overhead: wall time minus the time remote commands ran (from --verbose "(exit N, M ms)" lines, timed as they');
    out('   arrived; concurrent channels counted once as the union of their intervals). Medians of --verbose runs: the applies');
    out('   above, and the no-ops through the 0 ms proxy of section 3.');
    const ohRow = (name: string, o: ReturnType<typeof oh>, settle: number): string[] => [name, msText(o.wall), count(o.commands), msText(o.busy), msText(o.sum), msText(settle), msText(o.nonRemote), msText(o.startup), msText(o.connect), msText(o.rest)];
    table(['run', 'wall', 'commands', 'remote busy', 'remote sum', 'settle', 'overhead', 'of which: node start', 'ssh connect', 'the rest'], [
      ...(ohNoop ? [ohRow('no-op', ohNoop, 0)] : []),
      ohRow('apply', ohApply, settleMs),
    ]);
    out('   "the rest": local work between commands, channel set-up not inside a command, the endpoint probes from this machine, the');
    out('   poll sleeps of the running check beyond the settle time, and exit.');
    out();
    json['realHost'] = { engine: engineVersions ?? null, summaries: s, overhead: { noop: ohNoop, apply: ohApply }, raw: h };
  }

  // ------------------------------------------------------------------ 3. latency
  let noopRounds = Number.NaN;
  let noopRoundsByTime = Number.NaN;
  let applyRounds = Number.NaN;
  let unwoundRounds = Number.NaN;
  let rollbackRounds = Number.NaN;
  if (host && !('unavailable' in host) && host.latency) {
    const l = host.latency;
    const m = (runs: Array<AwfRun & { traffic: TrafficCount }>, f: (r: AwfRun & { traffic: TrafficCount }) => number): number => median(runs.map(f));
    const noop0 = m(l.noop0, (r) => r.wallMs);
    const noop25 = m(l.noop25, (r) => r.wallMs);
    const apply25 = m(l.apply25, (r) => r.wallMs);
    const apply0 = host.awf.apply.length ? median(host.awf.apply.map((r) => r.wallMs)) : Number.NaN;
    noopRounds = m(l.noop25, (r) => r.traffic.answeredRounds);
    // Paired: each 25 ms no-op against the 0 ms no-op run just before it, so a slow moment cancels out.
    noopRoundsByTime = median(l.noop25.map((r, i) => (r.wallMs - (l.noop0[i]?.wallMs ?? Number.NaN)) / (2 * DELAY_MS)));
    out(`3. Latency: a TCP proxy (bench/delay-proxy.ts) between the CLI and the real sshd delays every chunk ${DELAY_MS} ms each way.`);
    out('   Counted at the proxy from when each side wrote. A round = client→server writes clustered by time: a client write');
    out(`   opens a new round only once a full round trip (${2 * DELAY_MS} ms) has passed since the round opened, so concurrent`);
    out('   channels count once per round. round trips = the rounds the server answered (its data reached the proxy within');
    out(`   ${DELAY_MS} ms after the round reached it): kex, auth, channel opens, execs; a round of channel closes or window`);
    out('   adjusts gets no answer and holds nobody up. rounds = all of them (an upper bound). bursts = client writes that');
    out('   follow server data (interleaved concurrent channels count separately: a looser bound).'); 
    out(`   latency cost = (wall at ${DELAY_MS} ms − wall at 0 ms) / ${2 * DELAY_MS} ms, paired runs: the round trips on the critical path`);
    out('   as the operator feels them (noisy when the machine is loaded).');
    const latencyRow = (name: string, runs: Array<AwfRun & { traffic: TrafficCount }>, wall0: string, cost: string): string[] =>
      runs.length === 0
        ? [name, 'n/a']
        : [name, wall0, msText(m(runs, (r) => r.wallMs)), count(m(runs, (r) => r.traffic.answeredRounds)), count(m(runs, (r) => r.traffic.rounds)), count(m(runs, (r) => r.traffic.clientBursts)), cost, count(m(runs, (r) => r.traffic.connections)), count(m(runs, (r) => r.commands)), `${m(runs, (r) => r.traffic.bytesUp)}/${m(runs, (r) => r.traffic.bytesDown)}`];
    table(['run', 'wall @0 ms', `wall @${DELAY_MS} ms`, 'round trips', 'rounds', 'bursts', 'latency cost (RTTs)', 'connections', 'remote commands', 'bytes up/down'], [
      latencyRow('no-op', l.noop25, msText(noop0), count(noopRoundsByTime)),
      latencyRow('apply', l.apply25, `${msText(apply0)} (direct)`, count((apply25 - apply0) / (2 * DELAY_MS))),
      latencyRow('apply, a check fails: rolled back', l.unwound25, '', ''),
      latencyRow('--rollback', l.rollback25, '', ''),
    ]);
    applyRounds = m(l.apply25, (r) => r.traffic.answeredRounds);
    unwoundRounds = l.unwound25.length > 0 ? m(l.unwound25, (r) => r.traffic.answeredRounds) : Number.NaN;
    rollbackRounds = l.rollback25.length > 0 ? m(l.rollback25, (r) => r.traffic.answeredRounds) : Number.NaN;
    out('   (the apply rows include the settle wait, and its ps polls, which are round trips of their own)');
    // The run with the median round count, its rounds by wave of remote commands (commands announced together).
    const typical = (runs: Array<AwfRun & { traffic: TrafficCount }>) => [...runs].sort((a, b) => a.traffic.answeredRounds - b.traffic.answeredRounds)[Math.floor(runs.length / 2)]!;
    const noopWaves = roundsByWave(typical(l.noop25));
    const applyWaves = roundsByWave(typical(l.apply25));
    out(`   where the rounds go (all rounds of the median run, by wave of remote commands started together):`);
    out(`   no-op: ${noopWaves.map((w) => `${w.label} ${w.rounds}`).join(' · ')}`);
    out(`   apply: ${applyWaves.map((w) => `${w.label} ${w.rounds}`).join(' · ')}`);
    if (l.unwound25.length > 0) out(`   apply, rolled back: ${roundsByWave(typical(l.unwound25)).map((w) => `${w.label} ${w.rounds}`).join(' · ')}`);
    out();
    json['latency'] = { noop0Ms: noop0, noop25Ms: noop25, apply0Ms: apply0, apply25Ms: apply25, noopRounds, noopRoundsByTime, noopWaves, applyWaves, raw: { noop25: l.noop25.map((r) => r.traffic), apply25: l.apply25.map((r) => r.traffic) } };
  }

  // ------------------------------------------------------------------ 4. fleet
  let fleetRatio = Number.NaN;
  let rss500 = Number.NaN;
  let cpuPerHost500 = Number.NaN;
  if (fleet) {
    const pin = FLEET_PINNING;
    out(`4. Fleet: runFleet (in-process, one run per host), apply from the broken state, --settle ${SETTLE_S}, every fake host behind its`);
    out(`   own delay proxy (${DELAY_MS} ms each way)${FLEET_CRASH_WINDOW_MS === undefined ? '' : `, crash window ${FLEET_CRASH_WINDOW_MS} ms`}. The tool's runFleet in one process; the fake hosts (real SSH on`);
    out('   127.0.0.1, with their proxies and the shells they run) in others, at most 25 hosts each (spawn() forks the whole process).');
    out(pin.tool !== null ? `   Pinned (taskset -c): the tool on core ${pin.tool}, the fake hosts on core ${pin.hosts} (500 hosts: on every core); sizes run round-robin.` : `   Not pinned (${pin.why}): the tool and the fake hosts share the cores, and the hosts' CPU slows the tool.`);
    out('   peak RSS = the tool process\'s getrusage high-water mark (what /usr/bin/time -v reports), whole process life. tool CPU =');
    out('   user + system of the tool process during the fleet; per host = that / hosts.');
    const rows: string[][] = [];
    const why: string[][] = [];
    const fleetJson: Record<string, unknown> = {};
    let wall1 = Number.NaN;
    for (const { hosts: n, concurrency, hostsOnAllCores } of FLEET_SIZES) {
      const runs = fleet[n];
      if (!runs || runs.length === 0) continue;
      const wall = ms(runs.map((r) => r.wallMs));
      if (n === 1) wall1 = wall.median;
      const peak = Math.max(...runs.map((r) => r.peakRssMiB));
      const perHost = median(runs.map((r) => (r.cpuSeconds * 1000) / n));
      if (n === 50 && concurrency === CONCURRENCY) fleetRatio = wall.median / wall1;
      if (n === 500) {
        rss500 = peak;
        cpuPerHost500 = perHost;
      }
      const m = (f: (r: FleetRun) => number): number => median(runs.map(f));
      rows.push([
        String(n),
        String(concurrency),
        String(runs.length),
        seconds(wall.median),
        `${seconds(wall.min)}–${seconds(wall.max)}`,
        concurrency === CONCURRENCY ? ratio(wall.median, wall1) : 'n/a',
        times(Math.ceil(n / concurrency)),
        seconds(m((r) => r.hostSeconds.median * 1000)),
        mib(peak),
        mib(m((r) => r.baselineRssMiB)),
        `${m((r) => r.cpuSeconds).toFixed(2)} s`,
        msText(perHost),
        `${m((r) => r.hostsCpuSeconds).toFixed(1)} s`,
      ]);
      why.push([
        String(n),
        hostsOnAllCores && pin.hosts !== null ? 'all' : (pin.hosts ?? 'all'),
        `${m((r) => r.hostsSelfCpuSeconds).toFixed(1)} + ${m((r) => r.hostsShellsCpuSeconds).toFixed(1)} s`,
        msText(m((r) => (r.hostsCpuSeconds * 1000) / n)),
        `${Math.round(m((r) => r.cpuSeconds / (r.wallMs / 1000)) * 100)}%`,
        `${Math.round(m((r) => r.hostsCpuSeconds / (r.wallMs / 1000)) * 100)}%`,
        `${m((r) => r.waitedForCpuSeconds).toFixed(1)} s`,
        `${m((r) => r.hostsWaitedForCpuSeconds).toFixed(1)} s`,
        `${m((r) => r.loopDelayMs.p99).toFixed(0)} / ${Math.max(...runs.map((r) => r.loopDelayMs.max)).toFixed(0)} ms`,
        `${m((r) => r.hostsLoopDelayMs.p99).toFixed(0)} / ${Math.max(...runs.map((r) => r.hostsLoopDelayMs.max)).toFixed(0)} ms`,
        `${mib(Math.max(...runs.map((r) => r.hostsPeakRssMiB)))} (${runs[0]!.hostsProcesses})`,
        `${median(runs.flatMap((r) => r.commandsPerHost))}`,
        `${Math.max(...runs.flatMap((r) => r.connectionsPerHost))}`,
        `${Math.min(...runs.map((r) => r.loadAverage))}–${Math.max(...runs.map((r) => r.loadAverage))}`,
      ]);
      fleetJson[n] = { concurrency, wall, peakRssMiB: summarize(runs.map((r) => r.peakRssMiB)), toolCpuPerHostMs: perHost, raw: runs };
    }
    table(['hosts', 'conc.', 'runs', 'wall', '(min–max)', 'vs 1 host', 'ideal', 'one host\'s run', 'peak RSS', 'RSS before', 'tool CPU', 'tool CPU/host', 'hosts CPU'], rows);
    out('   Where the time goes. hosts CPU = the hosts\' processes (SSH servers, proxies, Compose emulator) + the shells they ran. busy =');
    out('   CPU / wall. waited for CPU = time the process\'s main thread was ready to run but queued for a core (kernel schedstat; the');
    out('   hosts: summed over their processes). loop lag = event-loop delay, p99 (median of runs) / max. load = the 1-minute load');
    out('   average at each run\'s start (other engineers share the machine). ideal = waves of `concurrency` hosts, each as long as one.');
    table(['hosts', 'hosts core', 'hosts CPU (procs + shells)', 'hosts CPU/host', 'tool busy', 'hosts busy', 'tool waited for CPU', 'hosts waited', 'tool loop lag', 'hosts loop lag', 'hosts RSS (procs)', 'commands/host', 'connections/host', 'load'], why);
    const r50 = fleet[50];
    if (r50 && r50.length > 0) {
      const m = (f: (r: FleetRun) => number): number => median(r50.map(f));
      out(`   50 hosts at concurrency ${CONCURRENCY}: ${times(fleetRatio)} one host (ideal 5.00×). The tool ran ${m((r) => r.cpuSeconds).toFixed(1)} s of CPU and its main thread waited`);
      out(`   ${m((r) => r.waitedForCpuSeconds).toFixed(1)} s for a core; the hosts ran ${m((r) => r.hostsCpuSeconds).toFixed(1)} s (${Math.round(m((r) => r.hostsCpuSeconds / (r.wallMs / 1000)) * 100)}% of their core) and waited ${m((r) => r.hostsWaitedForCpuSeconds).toFixed(1)} s, at load ${m((r) => r.loadAverage).toFixed(1)} on ${machine.cores} cores.`);
      const steps = (runs: FleetRun[]): string =>
        Object.keys(runs[0]!.stepMedians)
          .map((id) => `${id} ${Math.round(median(runs.map((r) => r.stepMedians[id] ?? Number.NaN)))}`)
          .join(', ');
      if (fleet[1]?.length) out(`   one host's time by step (ms), alone: ${steps(fleet[1])}`);
      out(`   in the fleet of 50: ${steps(r50)}`);
    }
    out();
    json['fleet'] = { pinning: pin, delayMs: DELAY_MS, crashWindowMs: FLEET_CRASH_WINDOW_MS ?? null, rows: fleetJson };
  }

  // ------------------------------------------------------------------ 5. cold start
  if (cold) {
    const row = (label: string, key: string, floor: string): string[] => {
      const c = cold![key]!;
      return [label, msText(c.median), `${c.min}–${c.max} ms`, key === floor ? 'the floor' : ratio(c.median, cold![floor]!.median)];
    };
    out(`5. Cold start (spawned, ${COLD_RUNS} rounds; each round runs the three in turn, so load hits all alike)`);
    table(['command', 'median', '(min–max)', 'vs node -e 0'], [
      row('idle: apply-ws-fix --help', 'help', 'nodeBaseline'),
      row('idle: apply-ws-fix --version', 'version', 'nodeBaseline'),
      row('idle: node -e 0', 'nodeBaseline', 'nodeBaseline'),
      row('two CPU hogs: apply-ws-fix --help', 'helpLoaded', 'nodeBaselineLoaded'),
      row('two CPU hogs: apply-ws-fix --version', 'versionLoaded', 'nodeBaselineLoaded'),
      row('two CPU hogs: node -e 0', 'nodeBaselineLoaded', 'nodeBaselineLoaded'),
    ]);
    out('   two CPU hogs: two busy processes spinning while the three are measured (the targets use these rows).');
    out();
  }

  // ------------------------------------------------------------------ targets
  atMost(`apply round trips at ${DELAY_MS} ms each way`, applyRounds, 15, count);
  atMost(`no-op round trips at ${DELAY_MS} ms each way`, noopRounds, 11, count);
  atMost('extra round trips when a check fails and the apply rolls back', unwoundRounds - applyRounds, 2, count);
  atMost('  --rollback round trips, vs the apply\'s + 2 (info)', rollbackRounds, applyRounds + 2, count);
  atMost('apply (excluding settle) vs the plain-ssh floor', awfApplyEx / floorApply, 1.3, times);
  atMost('  the same, without the nginx -t container the floor does not run (info)', awfApplyExValidate / floorApply, 1.3, times);
  atMost('no-op vs the plain-ssh floor\'s same reads and checks', awfNoop / floorNoopAll, 1.2, times);
  atMost('no-op run on the loopback test host', awfNoop, 1000, sec);
  atLeast('no-op faster than the Ansible playbook', ansibleNoop / awfNoop, 5, times);
  atMost(`50 hosts at concurrency ${CONCURRENCY} vs 1 host (${DELAY_MS} ms each way)`, fleetRatio, 6, times);
  atMost('peak RSS, 500 hosts at concurrency 50', rss500, 300, mib);
  // At 25 ms each way one host's apply takes ~3.4 s; 50 at once fill the tool's one core at 3.4 s / 50 ≈ 68 ms of CPU a
  // host. 50 ms keeps that core at most ~75% busy, so the tool's CPU is not what holds a 500-host fleet back.
  atMost('tool CPU per host, 500 hosts at concurrency 50', cpuPerHost500, 50, msText);
  const coldRatio = (key: string): number => (cold ? cold[`${key}Loaded`]!.median / cold['nodeBaselineLoaded']!.median : Number.NaN);
  atMost('--help vs node -e 0 (two CPU hogs)', coldRatio('help'), 2, times);
  atMost('--version vs node -e 0 (two CPU hogs)', coldRatio('version'), 2, times);
  out('Targets');
  table(['target', 'limit', 'measured', 'result', 'by how much'], targets.map((t) => [t.name, t.limit, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS', t.by]));
  json['targets'] = targets;
  const total = performance.now() - benchStarted;
  json['benchSeconds'] = Math.round(total / 100) / 10;
  out();
  out(`bench took ${seconds(total)}; load average now ${describeMachine().loadAverage1m}; results in ${RESULTS}`);
  writeFileSync(RESULTS, `${JSON.stringify(json, null, 2)}\n`);
}

// cliArgs and analyse are re-exported for anyone reproducing one run by hand.
export { analyse, cliArgs };

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
