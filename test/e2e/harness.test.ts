// The real test host behaves like the host in shared/remote-host.md: proven here without the CLI,
// over a real ssh client, against real nginx and a real TLS WebSocket upstream.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { httpRequest, wsHandshake } from './harness/probes.js';
import {
  CONTAINER,
  PROFILE_ARGS,
  realHostPrerequisites,
  startRealHost,
  userProcessesGone,
  type RealHost,
} from './harness/real-host.js';
import { descendantsOf, isAlive, run, waitFor } from './harness/system.js';

const missing = realHostPrerequisites();
// In CI a missing prerequisite is a failure (install-deps.sh did not run), elsewhere a skip.
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e harness tests skipped, missing: ${missing.join('; ')}`);

const UP = ['compose', ...PROFILE_ARGS, 'up', '-d', 'ocapistaine'].join(' ');
// Compose 2.26 starts each log line with the erase-line sequence, even without a terminal.
const lines = (s: string) => s.split('\n').filter(Boolean).map((l) => l.replace(/^\x1b\[2K/, ''));
// The progress lines `up` prints about the proxy's container (e2e-gate, its dependency, has its own).
const proxyLines = (s: string) => lines(s).filter((l) => l.includes(` Container ${CONTAINER} `));

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

// Starts a host in a child node process that then dies by SIGKILL (no close(), no exit handler): a crashed run.
async function startHostAndDie(user: string): Promise<{ dockerd: number; nginx: number }> {
  const hooks = new URL('../../bench/ts-hooks.mjs', import.meta.url).href;
  const realHost = new URL('./harness/real-host.ts', import.meta.url).href;
  const code = `
    import { register } from 'node:module';
    register(${JSON.stringify(hooks)});
    const { startRealHost } = await import(${JSON.stringify(realHost)});
    const host = await startRealHost({ user: ${JSON.stringify(user)} });
    process.stdout.write(JSON.stringify(host.pids()) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
  `;
  const r = await run(process.execPath, ['--input-type=module', '-e', code], { timeoutMs: 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the child host did not start (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(line) as { dockerd: number; nginx: number };
}

describe.skipIf(skip)('the real test host', () => {
  let host: RealHost;
  const wsUrl = () => `${host.publicUrl.replace('http', 'ws')}/_stcore/stream`;
  // Runs a command in ~/vaettir over the real ssh client.
  const remote = (cmd: string, input?: string) => host.ssh(`cd ~/vaettir && ${cmd}`, input === undefined ? {} : { input });
  const handshakeBecomes = (status: number) =>
    waitFor(`a ${status} handshake`, async () => {
      const r = await wsHandshake(wsUrl(), { timeoutMs: 3000 });
      return r.status === status ? r : undefined;
    });
  const applyTemplate = async (template: string) => {
    expect((await remote('cat > proxy-configs/ocapistaine.conf.template', template)).code).toBe(0);
    const build = await remote('docker compose build ocapistaine');
    expect(build.code, build.stderr).toBe(0);
    return remote(`docker ${UP}`);
  };

  beforeAll(async () => {
    host = await startRealHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  describe('ssh', () => {
    test('the generated key logs in as the remote user, with docker on PATH and ~/vaettir a clean git tree', async () => {
      const r = await host.ssh('id -un; command -v docker; cd ~/vaettir && git rev-list --count HEAD && git status --porcelain && ls -a');
      expect(r.code, r.stderr).toBe(0);
      const [user, docker, commits, ...rest] = lines(r.stdout);
      expect(user).toBe(host.user);
      expect(docker).toBe(host.dockerClient);
      expect(commits).toBe('1');
      expect(rest).toEqual(expect.arrayContaining(['.env', '.git', 'compose.yaml', 'proxy-configs']));
      expect(host.readFile('vaettir/.env')).toContain(`OCAPISTAINE_TARGET_URL=${host.upstreamUrl}`);
      expect(host.readFile('vaettir/.env')).toContain(`OCAPISTAINE_API_TOKEN=${host.secret}`);
      expect(host.readFile('vaettir/proxy-configs/ocapistaine.conf.template')).toBe(host.originalTemplate);
    });

    test('a key the host does not know is refused', async () => {
      const r = await host.ssh('true', { privateKeyPath: host.wrongPrivateKeyPath });
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
    });

    test('an unknown or changed host key stops the client before it logs in', async () => {
      const unknown = await host.ssh('touch ~/should-not-exist', { knownHostsPath: host.emptyKnownHostsPath });
      expect(unknown.code).toBe(255);
      expect(unknown.stderr).toMatch(/Host key verification failed/);
      const changed = await host.ssh('touch ~/should-not-exist', { knownHostsPath: host.mismatchedKnownHostsPath });
      expect(changed.code).toBe(255);
      expect(changed.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      expect(host.readFile('vaettir/compose.yaml')).toBeTruthy();
      expect(() => host.readFile('should-not-exist')).toThrow();
    });

    test('node-ssh (what the tool uses) connects with the key, checks the host key and uses SFTP', async () => {
      const knownKey = readFileSync(host.knownHostsPath, 'utf8').trim().split(' ')[2];
      const ssh = new NodeSSH();
      let offered = '';
      await ssh.connect({
        host: '127.0.0.1',
        port: host.port,
        username: host.user,
        privateKeyPath: host.privateKeyPath,
        hostVerifier: (key: Buffer) => {
          offered = key.toString('base64');
          return offered === knownKey;
        },
      });
      try {
        expect(offered).toBe(knownKey);
        const r = await ssh.execCommand('docker compose version', { cwd: `${host.home}/vaettir` });
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Docker Compose version v?2\.\d+\.\d+/);
        const sftp = await ssh.requestSFTP();
        const listing = await new Promise<string[]>((resolve, reject) =>
          sftp.readdir('vaettir/proxy-configs', (e, list) => (e ? reject(e) : resolve(list.map((f) => f.filename).sort()))),
        );
        expect(listing).toEqual(['Dockerfile.ocapistaine', 'entrypoint.sh', 'ocapistaine.conf.template']);
        sftp.end();
      } finally {
        ssh.dispose();
      }
    });
  });

  describe('docker compose, as remote-host.md describes it', () => {
    test('version, config --services and ps (table and NDJSON)', async () => {
      const version = await remote('docker compose version');
      expect(version.code).toBe(0);
      expect(version.stdout).toBe(`Docker Compose version ${host.versions.compose}\n`);
      // Every service sits behind a profile: without --profile, Compose lists none.
      expect((await remote('docker compose config --services')).stdout).toBe('');
      // A set: real Compose 2.26 prints it sorted in one run and in dependency order in another.
      const services = (await remote(`docker compose ${PROFILE_ARGS.join(' ')} config --services`)).stdout;
      expect(services.endsWith('\n')).toBe(true);
      expect(services.trimEnd().split('\n').sort()).toEqual(['e2e-gate', 'ocapistaine', 'web']);

      const table = await remote('docker compose ps ocapistaine');
      const [header, row] = lines(table.stdout);
      expect(header).toMatch(/^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
      // Host networking: no published ports.
      expect(row).toMatch(new RegExp(`^${CONTAINER}\\s+vaettir-ocapistaine\\s+"/entrypoint\\.sh ngin…"\\s+ocapistaine\\s+.+ ago\\s+Up .+$`));

      const json = await remote('docker compose ps --format json ocapistaine');
      const objects = lines(json.stdout).map((l) => JSON.parse(l));
      expect(objects).toHaveLength(1);
      expect(objects[0]).toMatchObject({
        Name: CONTAINER,
        Service: 'ocapistaine',
        Project: 'vaettir',
        State: 'running',
        Health: '',
        ExitCode: 0,
        Networks: 'host',
        Publishers: null,
      });
      expect(objects[0].Status).toMatch(/^Up /);
    });

    test('logs: prefixed lines (after ESC[2K), the error log and the access log both on stdout, --tail', async () => {
      await httpRequest(`${host.publicUrl}/_stcore/health`);
      const r = await remote('docker compose logs --no-color --tail 50 ocapistaine');
      expect(r.code).toBe(0);
      for (const l of r.stdout.split('\n').filter(Boolean)) expect(l.startsWith('\x1b[2Kocapistaine-1  | ')).toBe(true);
      // Compose 2.26 without a terminal: what the container wrote to stderr comes out on stdout too.
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/\[notice\] \d+#\d+: start worker process/);
      expect(r.stdout).toMatch(/"GET \/_stcore\/health HTTP\/1\.1" 200/);
      const tail = await remote('docker compose logs --no-color --tail 2 ocapistaine');
      expect(lines(tail.stdout).length + lines(tail.stderr).length).toBe(2);
    });

    test('exec shows the rendered config (only ${OCAPISTAINE_TARGET_URL} substituted), env and nginx -t', async () => {
      const conf = await remote('docker compose exec -T ocapistaine cat /etc/nginx/nginx.conf');
      expect(conf.code).toBe(0);
      expect(conf.stdout).toContain(`proxy_pass ${host.upstreamUrl};`);
      expect(conf.stdout).toContain('proxy_set_header X-Real-IP $remote_addr;');
      expect(conf.stdout).toContain('listen 80;');
      expect(conf.stdout).not.toContain('map $http_upgrade');
      expect(conf.stdout).toBe(host.originalTemplate.replaceAll('${OCAPISTAINE_TARGET_URL}', host.upstreamUrl));

      const byName = await remote(`docker exec ${CONTAINER} printenv OCAPISTAINE_TARGET_URL`);
      expect(byName).toMatchObject({ code: 0, stdout: `${host.upstreamUrl}\n` });
      const env = await remote('docker compose exec -T ocapistaine env');
      expect(env.stdout).toContain(`OCAPISTAINE_API_TOKEN=${host.secret}`);

      const t = await remote('docker compose exec -T ocapistaine nginx -t');
      expect(t.code).toBe(0);
      expect(t.stderr).toMatch(/syntax is ok/);
      expect(t.stderr).toMatch(/test is successful/);
      expect(t.stderr).not.toContain(host.home);

      const piped = await remote(`docker exec ${CONTAINER} sh -c 'cat /etc/nginx/nginx.conf | head -3'`);
      expect(piped.stdout).toBe(host.originalTemplate.split('\n').slice(0, 3).join('\n') + '\n');
      // Docker 20.10's runc: 126 (newer engines say 127), the runtime's message on stdout.
      const missingCmd = await remote('docker compose exec -T ocapistaine no-such-program');
      expect(missingCmd.code).toBe(126);
      expect(missingCmd.stdout).toMatch(/exec: "no-such-program": executable file not found in \$PATH/);
    });
  });

  describe('the endpoints', () => {
    test('before the fix: health 200 ok, plain GET/HEAD 426, and a handshake gets no 101 (Upgrade never reaches the app)', async () => {
      expect(await httpRequest(`${host.publicUrl}/_stcore/health`)).toMatchObject({ status: 200, body: 'ok' });
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`, { method: 'HEAD' })).status).toBe(426);
      await host.clearUpstreamRequests();
      const hs = await wsHandshake(wsUrl());
      expect(hs.status).toBe(426);
      const seen = (await host.upstreamRequests()).filter((r) => r.url === '/_stcore/stream');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ upgrade: false, httpVersion: '1.0' });
      expect(seen[0]?.headers.upgrade).toBeUndefined();
      expect(seen[0]?.headers.host).toBe('ocapistaine.ngrok-free.app');
    });

    test('the tornado switch answers like real Streamlit: plain GET 400, HEAD 405', async () => {
      host.setUpstreamMode('tornado');
      try {
        expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(400);
        expect((await httpRequest(`${host.publicUrl}/_stcore/stream`, { method: 'HEAD' })).status).toBe(405);
        expect((await wsHandshake(wsUrl())).status).toBe(400);
      } finally {
        host.setUpstreamMode('seed');
      }
    });

    test("the app's page opens its WebSocket on /_stcore/stream from location.origin", async () => {
      const page = await httpRequest(`${host.publicUrl}/`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain("new WebSocket(location.origin.replace('http', 'ws') + '/_stcore/stream')");
      expect(page.body).toContain('data-ws=');
    });
  });

  describe('the fix, applied by hand over ssh', () => {
    test('fixed template + build + up -d: recreated, and the handshake gets 101 through real nginx', async () => {
      const before = host.container();
      expect((await remote('cat > proxy-configs/ocapistaine.conf.template', host.fixedTemplate)).code).toBe(0);
      // Editing the template changes nothing live.
      expect((await wsHandshake(wsUrl())).status).toBe(426);

      const build = await remote('docker compose build ocapistaine');
      expect(build.code, build.stderr).toBe(0);
      // Compose 2.26's BuildKit progress comes out on stdout.
      expect(build.stdout).toMatch(/naming to docker\.io\/library\/vaettir-ocapistaine done/);

      const up = await remote(`docker ${UP}`);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toBe('');
      expect(proxyLines(up.stderr)).toEqual([
        ` Container ${CONTAINER}  Recreate`,
        ` Container ${CONTAINER}  Recreated`,
        ` Container ${CONTAINER}  Starting`,
        ` Container ${CONTAINER}  Started`,
      ]);
      const after = host.container();
      expect(after?.id).not.toBe(before?.id);
      expect(after?.imageId).not.toBe(before?.imageId);

      await host.clearUpstreamRequests();
      const hs = await handshakeBecomes(101);
      expect(hs.echoed).toBe('ping from e2e');
      const seen = (await host.upstreamRequests()).find((r) => r.url === '/_stcore/stream');
      expect(seen).toMatchObject({ upgrade: true, httpVersion: '1.1', status: 101 });
      expect(seen?.headers).toMatchObject({ upgrade: 'websocket', connection: 'upgrade', host: 'ocapistaine.ngrok-free.app' });

      const conf = await remote(`docker exec ${CONTAINER} cat /etc/nginx/nginx.conf`);
      expect(conf.stdout.split('\n').slice(0, 5).join('\n')).toContain('map $http_upgrade $connection_upgrade {');
      // A plain request cannot tell the fixed proxy from the broken one.
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
    });

    test('up -d again (and build again) leaves the container alone', async () => {
      const before = host.container();
      const build = await remote('docker compose build ocapistaine');
      expect(build.stdout).toMatch(/CACHED/);
      const up = await remote(`docker ${UP}`);
      expect(up.code).toBe(0);
      expect(proxyLines(up.stderr)).toEqual([` Container ${CONTAINER}  Running`]);
      expect(host.container()).toEqual(before);
      expect(isAlive(before?.nginxPid ?? 0)).toBe(true);
    });

    test('run --rm --no-deps -T nginx -t checks the built image in a throwaway container', async () => {
      const before = host.container();
      const r = await remote('docker compose run --rm --no-deps -T ocapistaine nginx -t');
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/syntax is ok/);
      expect(host.container()).toEqual(before);
      // The throwaway container is gone.
      const all = await remote("docker ps -a --format '{{.Names}}'");
      expect(lines(all.stdout).sort()).toEqual(['vaettir-e2e-gate-1', CONTAINER]);
    });

    test('restart starts the same container again', async () => {
      const before = host.container();
      const r = await remote('docker compose restart ocapistaine');
      expect(r.code).toBe(0);
      expect(lines(r.stderr)).toEqual([` Container ${CONTAINER}  Restarting`, ` Container ${CONTAINER}  Started`]);
      const after = host.container();
      expect(after?.id).toBe(before?.id);
      expect(after?.startedAtMs).toBeGreaterThan(before?.startedAtMs ?? 0);
      await handshakeBecomes(101);
      const inspect = await remote(`docker inspect -f '{{.State.Status}} {{.Name}}' ${CONTAINER}`);
      expect(inspect.stdout).toBe(`running /${CONTAINER}\n`);
    });
  });

  describe('faults', () => {
    beforeAll(async () => {
      await host.reset();
    });

    test('reset() brings back the broken host', async () => {
      expect(host.readFile('vaettir/proxy-configs/ocapistaine.conf.template')).toBe(host.originalTemplate);
      expect((await wsHandshake(wsUrl())).status).toBe(426);
      expect((await remote('git status --porcelain')).stdout).toBe('');
    });

    test('reject-new-config: a crash loop with real [emerg] lines; the original config runs again after rollback', async () => {
      await host.setFault('reject-new-config');
      const up = await applyTemplate(host.fixedTemplate);
      expect(up.code).toBe(0);
      expect(lines(up.stderr).at(-1)).toBe(` Container ${CONTAINER}  Started`);
      const ps = await host.whileRestarting(async () => lines((await remote('docker compose ps --format json ocapistaine')).stdout).map((l) => JSON.parse(l)));
      // The exit code shows in Status only: ps --format json says ExitCode 0 while restarting.
      expect(ps[0]).toMatchObject({ State: 'restarting' });
      expect(ps[0].Status).toMatch(/^Restarting \(1\) .+ ago$/);
      const logs = await remote('docker compose logs --no-color --tail 20 ocapistaine');
      expect(lines(logs.stdout).join('\n')).toMatch(/^ocapistaine-1 {2}\| .*\[emerg\] \d+#\d+: "map" directive is not allowed here in \/etc\/nginx\/nginx\.conf:2$/m);
      const exec = await host.whileRestarting(() => remote('docker compose exec -T ocapistaine nginx -t'));
      expect(exec.code).not.toBe(0);
      expect(exec.stdout + exec.stderr).toMatch(/is restarting, wait until the container is running/);
      expect((await wsHandshake(wsUrl(), { timeoutMs: 2000 })).status).not.toBe(101);
      const check = await remote('docker compose run --rm --no-deps -T ocapistaine nginx -t');
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(/\[emerg\] \d+#\d+: "map" directive is not allowed here in \/etc\/nginx\/nginx\.conf:2/);

      // Rollback: the original template is the baseline, which the fault spares.
      const back = await applyTemplate(host.originalTemplate);
      expect(back.code).toBe(0);
      await host.waitForContainer((s) => s.status === 'running' && Date.now() - s.startedAtMs > 500);
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
      expect((await wsHandshake(wsUrl())).status).toBe(426);
      await host.clearFaults();
    });

    test('blank-vars: the rendered config loses nginx variables (no map block left), and nginx rejects it', async () => {
      await host.setFault('blank-vars');
      await applyTemplate(host.fixedTemplate);
      const rendered = await remote('docker compose run --rm --no-deps -T ocapistaine cat /etc/nginx/nginx.conf');
      expect(rendered.stdout).not.toContain('$http_upgrade');
      expect(rendered.stdout).not.toMatch(/map \$http_upgrade/);
      expect(rendered.stdout).toContain(`proxy_pass ${host.upstreamUrl};`);
      await host.waitForContainer((s) => s.status === 'restarting');
      await waitFor('an [emerg] line in the logs', () => /\[emerg\]/.test(host.containerLogs()));
      await host.clearFaults();
      await applyTemplate(host.originalTemplate);
    });

    test('emerg-logs: the container runs and serves, its logs carry a real [emerg]', async () => {
      await host.setFault('emerg-logs');
      await applyTemplate(host.fixedTemplate);
      await handshakeBecomes(101);
      const s = host.container();
      expect(s?.status).toBe('running');
      const logs = await remote('docker compose logs --no-color --tail 100 ocapistaine');
      expect(logs.stdout).toMatch(/\[emerg\] \d+#\d+: unknown directive "e2e_unknown_directive"/);
      await host.clearFaults();
      await applyTemplate(host.originalTemplate);
    });

    test('build-fails: build exits 17 with "failed to solve", nothing changes', async () => {
      await host.setFault('build-fails');
      const before = host.container();
      expect((await remote('cat > proxy-configs/ocapistaine.conf.template', host.fixedTemplate)).code).toBe(0);
      const build = await remote('docker compose build ocapistaine');
      expect(build.code).toBe(17);
      expect(build.stderr).toMatch(/^failed to solve: /m);
      const up = await remote(`docker ${UP}`);
      expect(proxyLines(up.stderr)).toEqual([` Container ${CONTAINER}  Running`]);
      expect(host.container()).toEqual(before);
      // The fault spares the original template: a rollback build works.
      expect((await applyTemplate(host.originalTemplate)).code).toBe(0);
      await host.clearFaults();
    });

    test('up-fails: up exits 1 and leaves the container Created, not running; the rollback up starts it', async () => {
      await host.setFault('up-fails');
      const up = await applyTemplate(host.fixedTemplate);
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(/Error response from daemon: .*exec: "\/e2e\/gate": permission denied/);
      expect((await remote('docker compose ps --format json ocapistaine')).stdout).toBe('');
      const all = JSON.parse((await remote('docker compose ps -a --format json ocapistaine')).stdout);
      expect(all).toMatchObject({ State: 'created', Status: 'Created' });
      await expect(httpRequest(`${host.publicUrl}/_stcore/health`, { timeoutMs: 2000 })).rejects.toThrow();
      const back = await applyTemplate(host.originalTemplate);
      expect(back.code, back.stderr).toBe(0);
      await handshakeBecomes(426);
      await host.clearFaults();
    });

    test('upstream faults: down → 502, forbidden → 403, health-fails → 503, no-handshake and origin-check', async () => {
      await host.setFault('upstream-down');
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(502);
      expect((await wsHandshake(wsUrl())).status).toBe(502);
      await host.clearFault('upstream-down');
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(200);

      await host.setFault('forbidden');
      expect((await httpRequest(`${host.publicUrl}/`)).status).toBe(403);
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(403);
      await host.clearFault('forbidden');

      await host.setFault('health-fails');
      expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(503);
      await host.clearFault('health-fails');

      // These two need the fixed proxy: only then does an upgrade reach the app.
      await applyTemplate(host.fixedTemplate);
      await handshakeBecomes(101);
      await host.setFault('no-handshake');
      expect((await wsHandshake(wsUrl())).status).toBe(426);
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
      await host.clearFault('no-handshake');
      await host.setFault('origin-check');
      expect((await wsHandshake(wsUrl(), { origin: host.publicUrl })).status).toBe(403);
      expect((await wsHandshake(wsUrl())).status).toBe(101);
      await host.clearFaults();
    });

    test('faults with scope "always" bite the original template too', async () => {
      await host.reset();
      await host.setFault('build-fails', { scope: 'always' });
      expect((await remote('docker compose build ocapistaine')).code).toBe(17);
      await host.clearFaults();
      expect((await remote('docker compose build ocapistaine')).code).toBe(0);
    });

    test("the engine's events show what changed, and a read leaves none", async () => {
      const since = Date.now();
      await remote('docker compose ps -a --format json ocapistaine');
      await remote('docker compose logs --no-color --tail 5 ocapistaine');
      expect(host.dockerEvents(since)).toEqual([]);
      await remote('docker compose exec -T ocapistaine cat /etc/nginx/nginx.conf');
      expect(host.dockerEvents(since).map((e) => e.action.replace(/:.*/, ''))).toEqual(expect.arrayContaining(['exec_create', 'exec_start']));
      await remote('docker compose restart ocapistaine');
      expect(host.dockerEvents(since).filter((e) => e.type === 'container' && e.name === CONTAINER).map((e) => e.action)).toEqual(expect.arrayContaining(['kill', 'die', 'stop', 'start', 'restart']));
    });
  });

  describe('close()', () => {
    test('leaves no container, nginx, sshd, daemon or upstream process behind, no namespace, and frees the user', async () => {
      const { sshd, dockerd, upstream, nginx } = host.pids();
      const netns = `/run/netns/${host.user}`;
      expect(existsSync(netns)).toBe(true);
      expect([sshd, dockerd, upstream, nginx].every(isAlive)).toBe(true);
      // An open SSH session must not survive close() either.
      const session = host.ssh('sleep 30', { timeoutMs: 40_000 });
      await waitFor('the ssh session', () => descendantsOf(sshd).some((p) => p.comm === 'sleep'));
      await host.close();
      await session;
      for (const pid of [sshd, dockerd, upstream, nginx]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(await userProcessesGone(host.uid)).toBe(true);
      expect(await portRefuses(host.port)).toBe(true);
      expect(await portRefuses(host.proxyPort)).toBe(true);
      expect(existsSync(netns), 'the engine\'s network namespace is deleted').toBe(false);

      // A test process killed without close() leaves its engine and container running: the next start
      // of a host for that user stops them and removes the namespace and directories first.
      const crashed = await startHostAndDie(host.user);
      expect(isAlive(crashed.dockerd) && isAlive(crashed.nginx), 'the crashed run left its engine running').toBe(true);
      const again = await startRealHost({ user: host.user });
      expect(isAlive(crashed.dockerd), 'the orphaned dockerd was stopped').toBe(false);
      expect(isAlive(crashed.nginx), 'the orphaned container was stopped').toBe(false);

      // The same user can host again at once (the lock was released).
      try {
        expect((await again.ssh('docker compose version')).code).toBe(0);
      } finally {
        await again.close();
      }
    });
  });
});
