import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connect, type TestSession } from './ssh-client.js';
import { FIXED_TEMPLATE, handshake, inProject, writeTemplate } from './helpers.js';

// A plain request with any method, for HEAD (fetch is fine for GET).
function status(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('endpoint emulator, seed flavour', () => {
  let host: FakeHost;
  let session: TestSession;
  beforeAll(async () => {
    host = await startFakeHost();
    session = await connect(host);
  });
  afterAll(async () => {
    session?.end();
    await host?.close();
  });

  it('serves the page and the health check on loopback', async () => {
    expect(host.publicUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${host.publicUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const health = await fetch(`${host.publicUrl}/_stcore/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');
  });

  it('answers plain GET and HEAD on the stream path with 426, broken or fixed alike', async () => {
    expect((await fetch(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
    expect(await status(`${host.publicUrl}/_stcore/stream`, 'HEAD')).toBe(426);
  });

  it('gives 101 and echoes only once the fixed config is built and up', async () => {
    expect((await handshake(host.publicUrl)).status).toBe(426);
    await writeTemplate(session, FIXED_TEMPLATE);
    expect((await handshake(host.publicUrl)).status).toBe(426);
    await inProject(session, 'docker compose build ocapistaine');
    expect((await handshake(host.publicUrl)).status).toBe(426);
    await inProject(session, 'docker compose up -d ocapistaine');
    expect(await handshake(host.publicUrl)).toEqual({ status: 101, echo: 'ping from test' });
    expect((await fetch(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
  });

  it('with origin-check, refuses a handshake whose Origin differs from the Host the proxy sends upstream', async () => {
    expect((await handshake(host.publicUrl, '/_stcore/stream', host.publicUrl)).status).toBe(101);
    host.faults.add('origin-check');
    expect((await handshake(host.publicUrl, '/_stcore/stream', host.publicUrl)).status).toBe(403);
    expect((await handshake(host.publicUrl, '/_stcore/stream', 'https://ocapistaine.ngrok-free.app')).status).toBe(101);
    host.faults.delete('origin-check');
  });

  it('follows the live config: Connection "upgrade" works, a missing http_version 1.1 does not', async () => {
    const literal = FIXED_TEMPLATE.toString('utf8').replace('proxy_set_header Connection $connection_upgrade;', 'proxy_set_header Connection "upgrade";');
    await writeTemplate(session, literal);
    await inProject(session, 'docker compose build ocapistaine && docker compose up -d ocapistaine');
    expect((await handshake(host.publicUrl)).status).toBe(101);
    const noVersion = FIXED_TEMPLATE.toString('utf8').replace('        proxy_http_version 1.1;\n        proxy_set_header Upgrade', '        proxy_set_header Upgrade');
    await writeTemplate(session, noVersion);
    await inProject(session, 'docker compose build ocapistaine && docker compose up -d ocapistaine');
    expect(host.container()?.state).toBe('running');
    expect((await handshake(host.publicUrl)).status).toBe(426);
  });

  it('records requests in the proxy access log', async () => {
    await fetch(`${host.publicUrl}/?from=access-log-test`);
    const logs = await inProject(session, 'docker compose logs --tail 5 ocapistaine');
    expect(logs.out).toContain('"GET /?from=access-log-test HTTP/1.1" 200');
  });
});

describe('endpoint emulator, tornado flavour', () => {
  it('answers a plain GET with 400 and HEAD with 405, as real Streamlit does', async () => {
    const host = await startFakeHost({ streamlit: 'tornado' });
    try {
      const get = await fetch(`${host.publicUrl}/_stcore/stream`);
      expect(get.status).toBe(400);
      expect(await get.text()).toBe('Can "Upgrade" only to "WebSocket".');
      expect(await status(`${host.publicUrl}/_stcore/stream`, 'HEAD')).toBe(405);
      expect((await handshake(host.publicUrl)).status).toBe(400);
    } finally {
      await host.close();
    }
  });
});

// A request served in the first milliseconds after a start used to sort before the container's own start-up lines
// (stamped up to 11 ms past the start), so `logs --tail 5` could miss it: the CI flake this pins down.
describe('access log order right after a start', () => {
  it('a request a few ms after `up` comes after every start-up line', async () => {
    const clock = new ManualClock();
    const host = await startFakeHost({ clock });
    const session = await connect(host);
    try {
      expect((await inProject(session, 'docker compose up -d --force-recreate ocapistaine')).code).toBe(0);
      await clock.advance(5);
      await fetch(`${host.publicUrl}/?from=right-after-start`);
      await clock.advance(20);
      const logs = await inProject(session, 'docker compose logs --tail 1 ocapistaine');
      expect(logs.out).toContain('"GET /?from=right-after-start HTTP/1.1" 200');
    } finally {
      session.end();
      await host.close();
    }
  });
});
