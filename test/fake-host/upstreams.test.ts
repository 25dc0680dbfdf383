// The fake host's tunnels: its curl answers for the live ones only, its proxy routes by the live proxy_pass (a
// tunnel that is down is a 502), a .env change reaches the container's environment on recreate, and the endpoint
// sends what add_header says, as nginx does.
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeRequest } from '../../src/fake-host/nginx/proxy-route.js';
import { parseNginx } from '../../src/fake-host/nginx/parse.js';
import { UPSTREAMS, startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connect, type TestSession } from './ssh-client.js';
import { inProject } from './helpers.js';

const UP = 'docker compose --profile production --profile proxy up -d --force-recreate ocapistaine';

function get(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    }).on('error', reject).end();
  });
}

describe('the fake host\'s upstreams', () => {
  let host: FakeHost;
  let ssh: TestSession;
  beforeEach(async () => {
    host = await startFakeHost();
    ssh = await connect(host);
  });
  afterEach(async () => {
    ssh.end();
    await host.close();
  });

  it('curl on the host answers for a live tunnel, fails to resolve any other, and follows the faults', async () => {
    const curl = (url: string) => ssh.exec(`curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -- ${url}/_stcore/health`);
    expect(await curl(UPSTREAMS[1])).toMatchObject({ code: 0, out: '200' });
    expect(await curl('https://gone.ngrok-free.app')).toMatchObject({ code: 6, out: '000', err: 'curl: (6) Could not resolve host: gone.ngrok-free.app\n' });
    host.upstreams.delete(UPSTREAMS[1]);
    expect((await curl(UPSTREAMS[1])).code).toBe(6);
    host.faults.add('health-fails');
    expect(await curl(UPSTREAMS[0])).toMatchObject({ code: 0, out: '503' });
    expect((await ssh.exec(`curl -fsS ${UPSTREAMS[0]}/_stcore/health`)).code).toBe(22);
    expect((await ssh.exec(`curl -s ${UPSTREAMS[0]}/`)).out).toBe('');
  });

  it('a .env change reaches the container on recreate, and the proxy then reaches the new tunnel (or 502 when it is down)', async () => {
    expect((await get(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
    expect(host.upstreamHits.at(-1)).toBe(UPSTREAMS[0]);
    expect((await inProject(ssh, `sed -i 's#^OCAPISTAINE_TARGET_URL=.*#OCAPISTAINE_TARGET_URL=${UPSTREAMS[1]}#' .env`)).code).toBe(0);
    // Not yet: the running container keeps the environment it was created with.
    expect((await inProject(ssh, 'docker compose exec -T ocapistaine printenv OCAPISTAINE_TARGET_URL')).out).toBe(`${UPSTREAMS[0]}\n`);
    expect((await inProject(ssh, UP)).code).toBe(0);
    expect((await inProject(ssh, 'docker compose exec -T ocapistaine printenv OCAPISTAINE_TARGET_URL')).out).toBe(`${UPSTREAMS[1]}\n`);
    expect(host.container()?.renderedConfig).toContain(`proxy_pass ${UPSTREAMS[1]};`);
    expect((await get(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
    expect(host.upstreamHits.at(-1)).toBe(UPSTREAMS[1]);
    host.upstreams.delete(UPSTREAMS[1]);
    expect((await get(`${host.publicUrl}/_stcore/health`)).status).toBe(502);
  });

  it('sends the add_header lines of the live config', async () => {
    const template = `server {\n    listen 80;\n    add_header X-Content-Type-Options "nosniff" always;\n    add_header X-Frame-Options DENY;\n    location / {\n        proxy_pass \${OCAPISTAINE_TARGET_URL};\n    }\n}\n`;
    expect((await inProject(ssh, 'cat > proxy-configs/ocapistaine.conf.template', template)).code).toBe(0);
    expect((await inProject(ssh, `docker compose build ocapistaine && ${UP}`)).code).toBe(0);
    const answer = await get(`${host.publicUrl}/`);
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' });
    // Without `always`, nginx adds a header only to a success or a redirect.
    host.faults.add('health-fails');
    const failing = await get(`${host.publicUrl}/_stcore/health`);
    expect(failing.status).toBe(503);
    expect(failing.headers['x-content-type-options']).toBe('nosniff');
    expect(failing.headers['x-frame-options']).toBeUndefined();
  });
});

describe('add_header inheritance (nginx: from the innermost level that has any)', () => {
  const tree = (text: string) => parseNginx(text);
  it('a location with its own add_header does not inherit the server\'s', () => {
    const config = 'server {\n add_header A 1;\n location / { proxy_pass http://u; }\n location /x { add_header B 2 always; proxy_pass http://u; }\n}\n';
    const names = (path: string) => routeRequest(tree(config), { path, headers: {} })?.addHeaders.map((h) => `${h.name}=${h.value}${h.always ? '!' : ''}`);
    expect(names('/')).toEqual(['A=1']);
    expect(names('/x')).toEqual(['B=2!']);
  });
});
