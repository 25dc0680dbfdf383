// The seed's step 8 in a real browser: headless Debian Chromium (driven by playwright-core) opens the
// app's page through the proxy and we read what DevTools would show: the WebSocket's handshake status
// (Network → WS) and the console. Loopback only.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-default-browser-check',
  '--metrics-recording-only',
];

export interface Browser {
  open(url: string): Promise<PageVisit>;
  close(): Promise<void>;
}

export interface PageVisit {
  // What the page's own script concluded: body[data-ws].
  state: string;
  statusText: string;
  // Handshake statuses of the page's WebSockets: 101 from DevTools' handshake event, a refusal's from the console.
  wsStatuses: number[];
  wsUrls: string[];
  // Everything the console showed: console API calls and the browser's own log entries (network errors).
  console: string[];
}

// Why the browser cannot run here, or undefined.
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} (run: bash test/e2e/install-deps.sh --with-chromium)`;
}

// Launches Chromium. Playwright gives it a fresh temporary profile (its own --user-data-dir), removed on
// close. Each visit gets its own context, closed after it: no socket outlives a visit (an idle
// preconnected socket would hold nginx's graceful stop for Docker's 10 s on the next recreate).
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  return {
    async open(url) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const visit: PageVisit = { state: '', statusText: '', wsStatuses: [], wsUrls: [], console: [] };
        page.on('console', (m) => visit.console.push(m.text()));
        page.on('pageerror', (e) => visit.console.push(e.message));
        const cdp = await context.newCDPSession(page);
        cdp.on('Network.webSocketCreated', (e) => visit.wsUrls.push(e.url));
        cdp.on('Network.webSocketHandshakeResponseReceived', (e) => visit.wsStatuses.push(e.response.status));
        cdp.on('Log.entryAdded', (e) => visit.console.push(e.entry.text));
        await cdp.send('Network.enable');
        await cdp.send('Log.enable');
        await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
        await page.waitForFunction("document.body.dataset.ws !== 'connecting'", undefined, { timeout: 15_000 });
        // The console line for a failed handshake can trail the page's own onerror by a moment.
        await page.waitForTimeout(200);
        visit.state = String(await page.evaluate('document.body.dataset.ws'));
        visit.statusText = (await page.textContent('#status')) ?? '';
        // Playwright's console event and DevTools' log both carry the browser's network errors: once each.
        visit.console = [...new Set(visit.console)];
        // A refused handshake has no DevTools handshake event; its status is in the console line.
        for (const line of visit.console) {
          const code = /WebSocket connection to .* failed: .*Unexpected response code: (\d+)/.exec(line)?.[1];
          if (code !== undefined) visit.wsStatuses.push(Number(code));
        }
        return visit;
      } finally {
        await context.close();
      }
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

// The console's complaint about a WebSocket, as Chromium words it ("WebSocket connection to '…' failed: …").
export const WS_FAILED = /WebSocket connection(?: to '[^']*')? failed/;
