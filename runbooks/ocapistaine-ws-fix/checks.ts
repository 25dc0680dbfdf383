// The fix's own checks: the config nginx loaded has WebSocket support, and the public URL upgrades WebSockets.
import { StepError } from '../../src/errors.js';
import { httpStatus, websocketHandshake, websocketUrl, type ProbeResult } from '../../src/lib/probes.js';
import { upService, waitRunning } from '../../src/kinds/compose.js';
import type { Check } from '../../src/core/types.js';
import { ENDPOINTS, RENDERED_CONFIG, TARGET_VARIABLE, readLive, textOf, type Host } from './host.js';
import { blockBody } from './nginx-block.js';

const LOCATION_ROOT = /^\s*location\s+\/\s*\{/m;

/** A directive the rendered config must carry, named for the report, in the block where it acts. */
interface RequiredDirective {
  name: string;
  pattern: RegExp;
  within?: RegExp;
}

// The map block, and the upgrade headers in the location that proxies the stream (the health location has its own
// proxy_http_version).
export const REQUIRED_DIRECTIVES: readonly RequiredDirective[] = [
  { name: 'map $http_upgrade $connection_upgrade block', pattern: /^\s*map\s+\$http_upgrade\s+\$connection_upgrade\s*\{/m },
  { name: 'proxy_http_version 1.1 in location /', pattern: /^\s*proxy_http_version\s+1\.1\s*;/m, within: LOCATION_ROOT },
  { name: 'proxy_set_header Upgrade $http_upgrade in location /', pattern: /^\s*proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/m, within: LOCATION_ROOT },
  { name: 'proxy_set_header Connection $connection_upgrade in location /', pattern: /^\s*proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/m, within: LOCATION_ROOT },
];

/** The required directives a rendered config lacks, by name. */
export function missingDirectives(rendered: Buffer): string[] {
  const text = rendered.toString('utf8');
  return REQUIRED_DIRECTIVES.filter((d) => !d.pattern.test(d.within ? (blockBody(text, d.within) ?? '') : text)).map((d) => d.name);
}

/**
 * The config nginx loaded has the map block and the upgrade headers, and the target URL is set. When this run put
 * the new config in place and the container still lacks them, it is recreated once (up -d --force-recreate) before
 * the check gives up: a container can keep the old config when it was not recreated.
 */
export function renderedCheck(host: Host): Check {
  return {
    id: 'rendered',
    title: 'The rendered nginx config has WebSocket support',
    // Beside the logs check; the endpoint check waits for it, since its one retry may recreate the container.
    concurrent: true,
    facts: [host.facts.rendered, host.facts.targetUrl],
    expects: `${RENDERED_CONFIG} in the container has ${REQUIRED_DIRECTIVES.map((d) => d.name).join(', ')}; ${TARGET_VARIABLE} is set`,
    async run(ctx) {
      // After a change the facts are stale; otherwise they were read moments ago.
      let live = ctx.changed ? await readLive(ctx, host) : { rendered: ctx.fact(host.facts.rendered), targetUrl: ctx.fact(host.facts.targetUrl) };
      if (!live.rendered.ok) {
        throw new StepError('rendered', live.rendered.missing ? `cannot read ${RENDERED_CONFIG}: ${live.rendered.why}` : `cannot read ${RENDERED_CONFIG} in the container`, live.rendered.missing ? 'The image lacks cat: check the file by hand (docker compose exec).' : 'Is the container running? docker compose ps');
      }
      let missing = missingDirectives(live.rendered.stdout);
      let retried = '';
      // Only when this run recreated the container: a host it did not change is reported, not touched.
      if (missing.length > 0 && ctx.journaled('deploy')) {
        await upService(ctx, host.target, true, 'rendered', [TARGET_VARIABLE]);
        await waitRunning(ctx, host.target, ctx.options.settleMs, ctx.options.startTimeoutMs, 'rendered');
        live = await readLive(ctx, host);
        missing = live.rendered.ok ? missingDirectives(live.rendered.stdout) : missing;
        retried = missing.length > 0 ? ' (also after one up -d --force-recreate)' : ' (after one up -d --force-recreate: the container had kept the old config)';
      }
      if (missing.length > 0) {
        throw new StepError('rendered', `${RENDERED_CONFIG} in the container lacks: ${missing.join('; ')}${retried}`, 'Was the image rebuilt and the container recreated? docker compose build, then up -d --force-recreate.');
      }
      const text = live.rendered.ok ? live.rendered.stdout.toString('utf8') : '';
      const url = textOf(live.targetUrl);
      if (!live.targetUrl.ok && live.targetUrl.missing) {
        throw new StepError('rendered', `cannot check ${TARGET_VARIABLE}: ${live.targetUrl.why}`, `Use an image that has printenv, or check the variable by hand: docker compose exec ${host.params.service} env`);
      }
      if (url === undefined) throw new StepError('rendered', `${TARGET_VARIABLE} is not set in the container`, `Set ${TARGET_VARIABLE} in the compose environment (.env in the project directory).`);
      if (text.includes(`\${${TARGET_VARIABLE}}`)) throw new StepError('rendered', `${RENDERED_CONFIG} still holds the unsubstituted \${${TARGET_VARIABLE}}`, 'Check the image\'s entrypoint (envsubst).');
      return `map block and upgrade headers present; ${TARGET_VARIABLE}=${url}${retried}`;
    },
  };
}

const show = (result: ProbeResult): string => (result.status !== null ? String(result.status) : `no answer (${result.error ?? 'unknown error'})`);

// 403: something refuses the request; 5xx: the proxy cannot reach the upstream. Any other answer is the app's.
const refused = (result: ProbeResult): boolean => result.status === null || result.status === 403 || result.status >= 500;

/** From this machine, the public URL completes a WebSocket handshake (with and without a browser's Origin) and its health answers 200. */
export function endpointCheck(host: Host): Check {
  const { stream, health } = ENDPOINTS;
  return {
    id: 'endpoint',
    title: 'The public endpoint upgrades WebSockets',
    expects: `a WebSocket handshake on ${stream} gets 101 (also with a browser's Origin); GET ${stream} is not refused (403/5xx); GET ${health} answers 200`,
    async run(ctx) {
      const { url } = host.params;
      const timeout = ctx.options.probeTimeoutMs;
      ctx.checkpoint();
      // A browser always sends Origin: a 403 only browsers get must not pass as a working fix.
      const origin = new URL(url).origin;
      const [handshake, browser, plain, healthResult] = await Promise.all([
        websocketHandshake(websocketUrl(url, stream), timeout),
        websocketHandshake(websocketUrl(url, stream), timeout, { Origin: origin }),
        httpStatus(new URL(stream, url).toString(), 'GET', timeout),
        httpStatus(new URL(health, url).toString(), 'GET', timeout),
      ]);
      const detail = `handshake ${show(handshake)} (with a browser's Origin ${show(browser)}), GET ${stream} ${show(plain)}, GET ${health} ${show(healthResult)}`;
      ctx.log(`  ${detail}`);
      if (handshake.status !== 101) {
        throw new StepError('endpoint', `the WebSocket handshake on ${stream} did not get 101 (${detail})`, handshake.status === 502 ? 'The proxy cannot reach the upstream: is the tunnel up? (502 Bad Gateway)' : 'The upgrade headers do not reach the app: check the rendered config and what is in front of the container.');
      }
      if (browser.status !== 101) {
        throw new StepError('endpoint', `a browser's WebSocket handshake (Origin ${origin}) did not get 101 although one without Origin did (${detail})`, 'The app refuses the browser\'s Origin: see the diagnosis (Streamlit\'s XSRF/CORS settings).');
      }
      if (refused(plain)) throw new StepError('endpoint', `a plain GET on ${stream} answered ${show(plain)} (${detail})`, plain.status === 403 ? 'Something in front of the app refuses the request.' : 'The proxy cannot reach the upstream: is the tunnel up?');
      if (healthResult.status !== 200) throw new StepError('endpoint', `${health} answered ${show(healthResult)}, not 200 (${detail})`, 'Check that the app behind the tunnel is healthy.');
      return detail;
    },
  };
}
