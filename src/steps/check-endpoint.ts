// Step 8: from this machine, the public URL completes a WebSocket handshake and its health answers 200.
import { defineCheck } from '../engine/step.js';
import { StepError } from '../errors.js';
import { httpStatus, websocketHandshake, websocketUrl, type ProbeResult } from '../probes/endpoint.js';

function show(result: ProbeResult): string {
  return result.status !== null ? String(result.status) : `no answer (${result.error ?? 'unknown error'})`;
}

// 403: something refuses the request; 5xx: the proxy cannot reach the upstream. Any other answer is the app's.
function refused(result: ProbeResult): boolean {
  return result.status === null || result.status === 403 || result.status >= 500;
}

export const endpointCheck = defineCheck({
  id: 'endpoint',
  title: 'The public endpoint upgrades WebSockets',
  async run(ctx) {
    const { url, probeTimeoutMs } = ctx.options;
    const { stream, health } = ctx.runbook.endpoints;
    ctx.checkpoint();
    // A browser always sends Origin: a 403 only browsers get must not pass as a working fix.
    const origin = new URL(url).origin;
    const [handshake, browser, plain, healthResult] = await Promise.all([
      websocketHandshake(websocketUrl(url, stream), probeTimeoutMs),
      websocketHandshake(websocketUrl(url, stream), probeTimeoutMs, { Origin: origin }),
      httpStatus(new URL(stream, url).toString(), 'GET', probeTimeoutMs),
      httpStatus(new URL(health, url).toString(), 'GET', probeTimeoutMs),
    ]);
    const detail = `handshake ${show(handshake)} (with a browser's Origin ${show(browser)}), GET ${stream} ${show(plain)}, GET ${health} ${show(healthResult)}`;
    ctx.log(`  ${detail}`);
    if (handshake.status !== 101) {
      throw new StepError('endpoint', `the WebSocket handshake on ${stream} did not get 101 (${detail})`, handshake.status === 502 ? 'The proxy cannot reach the upstream: is the tunnel up? (the seed\'s "502 Bad Gateway")' : 'The upgrade headers do not reach the app: check the rendered config and what is in front of the container.');
    }
    if (browser.status !== 101) {
      throw new StepError('endpoint', `a browser's WebSocket handshake (Origin ${origin}) did not get 101 although one without Origin did (${detail})`, 'The app refuses the browser\'s Origin: see the diagnosis (Streamlit\'s XSRF/CORS settings).');
    }
    if (refused(plain)) throw new StepError('endpoint', `a plain GET on ${stream} answered ${show(plain)} (${detail})`, plain.status === 403 ? 'Something in front of the app refuses the request.' : 'The proxy cannot reach the upstream: is the tunnel up?');
    if (healthResult.status !== 200) throw new StepError('endpoint', `${health} answered ${show(healthResult)}, not 200 (${detail})`, 'Check that the app behind the tunnel is healthy.');
    return detail;
  },
});
