import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connect, type TestSession } from './ssh-client.js';
import { FIXED_TEMPLATE, inProject, writeTemplate } from './helpers.js';

let host: FakeHost;
let session: TestSession;

beforeAll(async () => {
  host = await startFakeHost({ crashWindowMs: 200 });
  session = await connect(host);
});

afterAll(async () => {
  session?.end();
  await host?.close();
});

describe('docker compose: read-only commands', () => {
  it('prints its version, and says so outside a project', async () => {
    expect(await inProject(session, 'docker compose version')).toMatchObject({ code: 0, out: 'Docker Compose version v2.26.1\n' });
    const outside = await session.exec('docker compose ps');
    expect(outside).toMatchObject({ code: 1, out: '', err: 'no configuration file provided: not found\n' });
  });

  it('lists services the active profiles enable, as Compose v2 does', async () => {
    expect((await inProject(session, 'docker compose config --services')).out).toBe('');
    expect((await inProject(session, 'docker compose --profile proxy config --services')).out).toBe('ocapistaine\n');
    expect((await inProject(session, 'docker compose --profile production --profile proxy config --services')).out).toBe('ocapistaine\nweb\n');
  });

  it('takes profiles from COMPOSE_PROFILES when no --profile is given', async () => {
    expect((await inProject(session, 'COMPOSE_PROFILES=proxy docker compose config --services')).out).toBe('ocapistaine\n');
    expect((await inProject(session, 'COMPOSE_PROFILES=proxy docker compose --profile production config --services')).out).toBe('ocapistaine\nweb\n');
  });

  it('answers many docker calls at once, on one connection', async () => {
    // 10: the sessions a stock sshd (MaxSessions) allows at once on one connection, as the fake host does
    const results = await Promise.all(
      Array.from({ length: 10 }, () => inProject(session, `docker compose ps --format '{{.Name}} {{.State}}' ocapistaine`)),
    );
    for (const r of results) expect(r).toMatchObject({ code: 0, out: 'vaettir-ocapistaine-1 running\n' });
  });

  it('prints the ps table in Compose column layout', async () => {
    const r = await inProject(session, 'docker compose ps ocapistaine');
    expect(r.code).toBe(0);
    const [header, row, extra] = r.out.split('\n');
    expect(header).toMatch(/^NAME {20}IMAGE {17}COMMAND {18}SERVICE {7}CREATED {7}STATUS {7}PORTS$/);
    expect(row).toMatch(/^vaettir-ocapistaine-1 {3}vaettir-ocapistaine {3}"\/entrypoint\.sh ngin…" {3}ocapistaine {3}3 hours ago {3}Up 3 hours {3}80\/tcp$/);
    expect(extra).toBe('');
    const all = await inProject(session, 'docker compose ps');
    expect(all.out).toContain('vaettir-web-1');
  });

  it('prints ps JSON as one object a line, with the keys tools read', async () => {
    const r = await inProject(session, 'docker compose ps -a --format json ocapistaine');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const row = JSON.parse(lines[0] ?? '');
    expect(row).toMatchObject({
      Name: 'vaettir-ocapistaine-1',
      Service: 'ocapistaine',
      Project: 'vaettir',
      State: 'running',
      Status: 'Up 3 hours',
      Health: '',
      ExitCode: 0,
      Image: 'vaettir-ocapistaine',
    });
    expect(row.Publishers).toEqual([{ URL: '', TargetPort: 80, PublishedPort: 0, Protocol: 'tcp' }]);
    for (const key of ['ID', 'Command', 'CreatedAt']) expect(row).toHaveProperty(key);
    const both = await inProject(session, 'docker compose ps --format json');
    expect(both.out.trim().split('\n')).toHaveLength(2);
  });

  it('prints logs with the service prefix, honouring --tail and -t, and refuses -f', async () => {
    const r = await inProject(session, 'docker compose logs --no-color --tail 3 ocapistaine');
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // Compose 2.26 starts each line with ESC[2K, even with --no-color and no terminal.
    for (const line of lines) expect(line).toMatch(/^\x1b\[2Kocapistaine-1 {2}\| /);
    const all = await inProject(session, 'docker compose logs ocapistaine');
    expect(all.out).toContain('ocapistaine-1  | /docker-entrypoint.sh: Configuration complete; ready for start up\n');
    expect(all.out).not.toContain('[emerg]');
    const stamped = await inProject(session, 'docker compose logs -t --tail=1 ocapistaine');
    expect(stamped.out).toMatch(/^\x1b\[2Kocapistaine-1 {2}\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
    const follow = await inProject(session, 'timeout 5 docker compose logs -f ocapistaine');
    expect(follow.code).toBe(1);
  });

  it('answers unknown flags, commands and services like Compose', async () => {
    expect(await inProject(session, 'docker compose ps --bogus')).toMatchObject({ code: 1, err: "unknown flag: --bogus\nSee 'docker compose ps --help'.\n" });
    expect(await inProject(session, 'docker compose frobnicate')).toMatchObject({ code: 1, err: 'unknown docker command: "compose frobnicate"\n' });
    expect(await inProject(session, 'docker compose logs nope')).toMatchObject({ code: 1, err: 'no such service: nope\n' });
  });

  it('runs commands in the container: cat, env with the secret, printenv, nginx -t/-T', async () => {
    const cat = await inProject(session, 'docker compose exec -T ocapistaine cat /etc/nginx/nginx.conf');
    expect(cat.out).toBe(host.container()?.renderedConfig);
    expect(cat.out).toContain('proxy_pass https://ocapistaine.ngrok-free.app;');
    expect(cat.out).not.toContain('${OCAPISTAINE_TARGET_URL}');
    const env = await inProject(session, 'docker compose exec -T ocapistaine env');
    expect(env.out).toContain('OCAPISTAINE_TARGET_URL=https://ocapistaine.ngrok-free.app\n');
    expect(env.out).toContain('OCAPISTAINE_API_TOKEN=fake-secret-token-do-not-print-7f3a9c\n');
    expect(env.out).toMatch(/^PATH=.*\nHOSTNAME=[0-9a-f]{12}\n/);
    expect(env.out).toContain('NGINX_VERSION=1.27.2\n');
    expect(await inProject(session, 'docker compose exec -T ocapistaine printenv OCAPISTAINE_TARGET_URL')).toMatchObject({
      code: 0,
      out: 'https://ocapistaine.ngrok-free.app\n',
    });
    expect((await inProject(session, 'docker compose exec -T ocapistaine printenv NOPE')).code).toBe(1);
    const t = await inProject(session, 'docker compose exec -T ocapistaine nginx -t');
    expect(t).toMatchObject({ code: 0, out: '' });
    expect(t.err).toContain('nginx: configuration file /etc/nginx/nginx.conf test is successful');
    const dump = await inProject(session, 'docker compose exec -T ocapistaine nginx -T');
    expect(dump.out.startsWith('# configuration file /etc/nginx/nginx.conf:\nserver {')).toBe(true);
    const direct = await session.exec('docker exec vaettir-ocapistaine-1 cat /etc/nginx/nginx.conf | head -1');
    expect(direct.out).toBe('server {\n');
    // Docker 20.10 (the real engine of the e2e contract test): 126, the runtime's message on stdout.
    const missing = await session.exec('docker exec vaettir-ocapistaine-1 nosuch');
    expect(missing).toMatchObject({ code: 126, err: '' });
    expect(missing.out).toMatch(/exec: "nosuch": executable file not found in \$PATH/);
  });

  it('inspects a container as a JSON array, or through --format', async () => {
    const r = await session.exec('docker inspect vaettir-ocapistaine-1');
    const [doc] = JSON.parse(r.out);
    expect(doc.State.Status).toBe('running');
    expect(doc.Name).toBe('/vaettir-ocapistaine-1');
    expect(doc.Config.Env).toContain('OCAPISTAINE_TARGET_URL=https://ocapistaine.ngrok-free.app');
    expect((await session.exec(`docker inspect -f '{{.State.Status}}' vaettir-ocapistaine-1`)).out).toBe('running\n');
    expect(await session.exec('docker inspect nope')).toMatchObject({ code: 1, err: 'Error: No such object: nope\n' });
  });
});

describe('docker compose: build and up', () => {
  it('changes the live config only after both build and up, and up twice recreates once', async () => {
    const before = host.container();
    if (!before) throw new Error('no container');
    await writeTemplate(session, FIXED_TEMPLATE);
    expect(host.container()?.renderedConfig).toBe(before.renderedConfig);

    const build = await inProject(session, 'docker compose build ocapistaine');
    // Compose 2.26 without a terminal prints BuildKit's progress on stdout.
    expect(build).toMatchObject({ code: 0, err: '' });
    expect(build.out).toContain('naming to docker.io/library/vaettir-ocapistaine done');
    expect(host.container()?.renderedConfig).toBe(before.renderedConfig);
    const test = await inProject(session, 'docker compose run --rm --no-deps -T ocapistaine nginx -t');
    expect(test.code).toBe(0);
    expect(test.err).toContain('syntax is ok');
    expect(host.container()?.imageId).toBe(before.imageId);

    const up = await inProject(session, 'docker compose --profile production --profile proxy up -d ocapistaine');
    expect(up).toMatchObject({ code: 0, out: '' });
    expect(up.err).toBe(
      ' Container vaettir-ocapistaine-1  Recreate\n Container vaettir-ocapistaine-1  Recreated\n' +
        ' Container vaettir-ocapistaine-1  Starting\n Container vaettir-ocapistaine-1  Started\n',
    );
    const after = host.container();
    expect(after?.recreations).toBe(before.recreations + 1);
    expect(after?.imageId).not.toBe(before.imageId);
    expect(after?.renderedConfig).toContain('map $http_upgrade $connection_upgrade {');
    expect(after?.renderedConfig).toContain('proxy_pass https://ocapistaine.ngrok-free.app;');
    expect(after?.renderedConfig).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(JSON.parse((await inProject(session, 'docker compose ps --format json ocapistaine')).out).Status).toMatch(/^Up (Less than a second|\d+ seconds?)$/);

    const again = await inProject(session, 'docker compose --profile production --profile proxy up -d ocapistaine');
    expect(again).toMatchObject({ code: 0, err: ' Container vaettir-ocapistaine-1  Running\n' });
    expect(host.container()?.recreations).toBe(after?.recreations);

    const rebuilt = await inProject(session, 'docker compose build ocapistaine');
    expect(rebuilt.out).toContain('CACHED');
    expect(host.container()?.imageId).toBe(after?.imageId);
    expect((await inProject(session, 'docker compose up -d ocapistaine')).err).toBe(' Container vaettir-ocapistaine-1  Running\n');

    const forced = await inProject(session, 'docker compose up -d --force-recreate ocapistaine');
    expect(forced.err).toContain('Recreated');
    expect(host.container()?.recreations).toBe((after?.recreations ?? 0) + 1);
  });

  it('recreates when the compose environment changes, with the new value rendered', async () => {
    const before = host.container();
    await inProject(session, `sed -i 's#^OCAPISTAINE_TARGET_URL=.*#OCAPISTAINE_TARGET_URL=https://elsewhere.example#' .env`);
    try {
      const up = await inProject(session, 'docker compose up -d ocapistaine');
      expect(up.err).toContain('Recreate');
      expect(host.container()?.renderedConfig).toContain('proxy_pass https://elsewhere.example;');
      expect(host.container()?.recreations).toBe((before?.recreations ?? 0) + 1);
    } finally {
      await inProject(session, `sed -i 's#^OCAPISTAINE_TARGET_URL=.*#OCAPISTAINE_TARGET_URL=https://ocapistaine.ngrok-free.app#' .env`);
      await inProject(session, 'docker compose up -d ocapistaine');
    }
  });

  it('restarts the same container and re-renders its config', async () => {
    const before = host.container();
    const r = await inProject(session, 'docker compose restart ocapistaine');
    expect(r.err).toBe(' Container vaettir-ocapistaine-1  Restarting\n Container vaettir-ocapistaine-1  Started\n');
    expect(host.container()?.recreations).toBe(before?.recreations);
    expect(host.container()?.startedAt).toBeGreaterThanOrEqual(before?.startedAt ?? 0);
  });

  it('stops the container (Exited (0), logs kept, exec refused) until a restart starts it again', async () => {
    const r = await inProject(session, 'docker compose stop ocapistaine');
    expect(r).toMatchObject({ code: 0, out: '', err: ' Container vaettir-ocapistaine-1  Stopping\n Container vaettir-ocapistaine-1  Stopped\n' });
    expect((await inProject(session, 'docker compose ps --format json ocapistaine')).out).toBe('');
    const all = JSON.parse((await inProject(session, 'docker compose ps -a --format json ocapistaine')).out);
    expect(all).toMatchObject({ State: 'exited', ExitCode: 0 });
    expect(all.Status).toMatch(/^Exited \(0\) /);
    expect((await inProject(session, 'docker compose exec -T ocapistaine cat /etc/nginx/nginx.conf')).code).not.toBe(0);
    expect((await inProject(session, 'docker compose logs --tail 1 ocapistaine')).out).toMatch(/ocapistaine-1 {2}\| /);
    await inProject(session, 'docker compose restart ocapistaine');
    expect(host.container()?.state).toBe('running');
  });

  it('fails the build when the template is missing, leaving the image as it was', async () => {
    const image = host.container()?.imageId;
    await inProject(session, 'mv proxy-configs/ocapistaine.conf.template proxy-configs/t.bak');
    try {
      const r = await inProject(session, 'docker compose build ocapistaine');
      expect(r.code).toBe(17);
      expect(r.err).toMatch(/^failed to solve: .*"\/proxy-configs\/ocapistaine\.conf\.template": not found\n$/);
    } finally {
      await inProject(session, 'mv proxy-configs/t.bak proxy-configs/ocapistaine.conf.template');
    }
    expect((await inProject(session, 'docker compose up -d ocapistaine')).err).toContain('Running');
    expect(host.container()?.imageId).toBe(image);
  });
});

describe('docker compose: JSON array flavour of older Compose', () => {
  it('prints ps --format json as one array', async () => {
    const old = await startFakeHost({ composeJson: 'array' });
    const s = await connect(old);
    try {
      const r = await inProject(s, 'docker compose ps --format json');
      const rows = JSON.parse(r.out);
      expect(Array.isArray(rows)).toBe(true);
      expect(rows.map((row: { Service: string }) => row.Service).sort()).toEqual(['ocapistaine', 'web']);
    } finally {
      s.end();
      await old.close();
    }
  });
});
