// The troubleshooting a person would do after a failed check, run by the tool: look (read-only) for the likely
// cause, and say it with the evidence and the remedy, instead of leaving a troubleshooting page to the operator.
import { StepError } from '../../src/errors.js';
import { httpStatus, websocketHandshake, websocketUrl } from '../../src/lib/probes.js';
import { maskSecrets } from '../../src/shell/mask.js';
import { shellJoin } from '../../src/shell/quote.js';
import type { Diagnosis, ExecContext } from '../../src/core/types.js';
import { emergEvidence } from './emerg.js';
import { DESIRED, ENDPOINTS, TARGET_VARIABLE, textOf, type Host } from './host.js';
import { localNgrokTunnels } from './ngrok.js';

type Ctx = ExecContext & { host: Host };

/** The likely cause of a failed step, or null when there is nothing more to say than the error. */
export async function diagnose(context: ExecContext, host: Host, error: unknown, after?: { restored: boolean; failed: string[] }): Promise<Diagnosis | null> {
  if (!(error instanceof StepError)) return null;
  const ctx: Ctx = { ...context, host };
  // The rollback put the original config back and it crash-loops too: the new config was never the cause.
  if (after && !after.restored && after.failed.includes('recreate-container') && ['running', 'logs'].includes(error.stepId)) {
    const found = await nginxErrors(ctx, new StepError('running', error.message));
    return {
      cause: `the original config cannot start either: the container crash-loops with it too${found ? ` (${found.cause})` : ''}; the new config is not the cause`,
      remedy: found?.cause.startsWith('nginx cannot bind') ? found.remedy : 'Read docker compose logs of the service: what fails is outside the template (the port, the image, the host). Fix it, then run again.',
      evidence: found?.evidence ?? [],
    };
  }
  switch (error.stepId) {
    case 'validate':
    case 'running':
    case 'logs':
      return nginxErrors(ctx, error);
    case 'rendered':
      return rendered(ctx, error);
    case 'endpoint':
      return endpoint(ctx);
    default:
      return null;
  }
}

// nginx's own lines, each with the template line it points at (envsubst keeps line numbers).
async function nginxErrors(ctx: Ctx, error: StepError): Promise<Diagnosis | null> {
  let text = error.message;
  if (error.stepId === 'running') {
    const logs = await ctx.exec(`${shellJoin(['cd', '--', ctx.host.target.dir])} && ${shellJoin(['docker', 'compose', 'logs', '--no-color', '--tail', '100', ctx.host.target.service])}`);
    text = `${logs.stdout.toString('utf8')}\n${logs.stderr.toString('utf8')}`;
  }
  const evidence = emergEvidence(maskSecrets(text, [TARGET_VARIABLE]), DESIRED);
  if (evidence.length === 0) return null;
  // A port nginx cannot bind fails whatever the config: the config this run installed is not the cause.
  if (evidence.some((line) => /bind\(\) to \S+ failed|Address (already )?in use/i.test(line))) {
    return {
      cause: 'nginx cannot bind its port: something else holds it',
      remedy: `Find what holds the port on the host (ss -ltnp, docker ps), free it, then docker compose up -d ${ctx.host.params.service} and run again.`,
      evidence,
    };
  }
  // The entrypoint ran envsubst without a variable list: nginx's own $variables became empty (the map lost its arguments).
  const blanked = evidence.filter((line) => /invalid number of arguments|unknown "\w*" variable|invalid variable name/.test(line) && /template line \d+: .*\$[a-z_]/.test(line));
  if (blanked.length > 0 && blanked.length === evidence.filter((line) => line.includes('template line')).length) {
    return {
      cause: 'the image\'s entrypoint blanked every $variable: it runs envsubst without a variable list, so nginx\'s own $http_upgrade, $host, … became empty',
      remedy: `Give envsubst the list: envsubst '\${${TARGET_VARIABLE}}' < template > /etc/nginx/nginx.conf in the entrypoint, rebuild, then run again. The template is not at fault.`,
      evidence,
    };
  }
  if (evidence.some((line) => line.includes('"map" directive is not allowed here'))) {
    return {
      cause: 'the image\'s main nginx config includes the template outside its http {} block, where map is not allowed',
      remedy: 'Include the rendered template inside http {} in the image\'s nginx.conf (or render it to /etc/nginx/conf.d/), rebuild, then run again.',
      evidence,
    };
  }
  return {
    cause: error.stepId === 'validate' ? 'nginx rejects the new config' : 'nginx reports errors with the new config',
    remedy: 'Fix the template lines named above (check the config for typos), then run again.',
    evidence,
  };
}

async function rendered(ctx: Ctx, error: StepError): Promise<Diagnosis> {
  const variable = TARGET_VARIABLE;
  if (/is not set/.test(error.message)) {
    // Whether .env defines it: a count, never the value.
    const count = await ctx.exec(`${shellJoin(['cd', '--', ctx.host.target.dir])} && ${shellJoin(['grep', '-c', `^${variable}=`, '.env'])} 2>/dev/null || true`);
    const defined = Number(count.stdout.toString('utf8').trim()) > 0;
    return {
      cause: `${variable} is missing or empty in the container, so proxy_pass has no upstream`,
      remedy: `Define ${variable} in ${ctx.host.params.dir}/.env (or the service's environment in the compose file), then run again.`,
      evidence: [defined ? `.env defines ${variable}: the compose file may not pass it to the service` : `.env in ${ctx.host.params.dir} does not define ${variable}`],
    };
  }
  const did = (step: 'write-template' | 'build' | 'deploy') => ctx.journaled(step);
  return {
    cause: !did('build') ? 'the image was not rebuilt from the new template' : !did('deploy') ? 'the container was not recreated from the new image' : 'the entrypoint does not render the template as expected (does it run envsubst with a variable list?)',
    remedy: 'docker compose build, then up -d --force-recreate; check the entrypoint\'s envsubst.',
    evidence: [`this run: template ${did('write-template') ? 'written' : 'unchanged'}, image ${did('build') ? 'rebuilt' : 'not rebuilt'}, container ${did('deploy') ? 'recreated' : 'not recreated'}`],
  };
}

async function endpoint(ctx: Ctx): Promise<Diagnosis> {
  const { url } = ctx.host.params;
  const { probeTimeoutMs } = ctx.options;
  const { stream, health } = ENDPOINTS;
  const origin = new URL(url).origin;
  const [plainHandshake, browserHandshake, healthResult] = await Promise.all([
    websocketHandshake(websocketUrl(url, stream), probeTimeoutMs),
    websocketHandshake(websocketUrl(url, stream), probeTimeoutMs, { Origin: origin }),
    httpStatus(new URL(health, url).toString(), 'GET', probeTimeoutMs),
  ]);
  const evidence = [
    `handshake without Origin: ${plainHandshake.status ?? plainHandshake.error}`,
    `handshake with Origin ${origin} (as a browser sends it): ${browserHandshake.status ?? browserHandshake.error}`,
    `GET ${health}: ${healthResult.status ?? healthResult.error}`,
  ];
  if ([plainHandshake.status, healthResult.status].includes(502) || healthResult.status === null) return upstream(ctx, evidence);
  if (plainHandshake.status === 403) {
    return { cause: 'something in front of the app refuses every request (403 with and without Origin)', remedy: 'Check what sits in front of the container (TLS terminator, auth, firewall rules).', evidence };
  }
  if (plainHandshake.status !== 101) {
    return {
      cause: 'the Upgrade headers do not reach the app although the rendered config has them: something between the public URL and the container strips them',
      remedy: 'Check the TLS terminator or CDN in front of the container: it must pass Upgrade/Connection (WebSocket) through.',
      evidence,
    };
  }
  if (healthResult.status !== 200) {
    return { cause: 'the app behind the tunnel is not healthy', remedy: 'Check the Streamlit app and its logs on the machine that runs it.', evidence };
  }
  if (browserHandshake.status === 403) {
    return {
      cause: 'the app refuses the browser\'s Origin: the proxy rewrites Host to the tunnel\'s name, so Streamlit\'s origin (XSRF/CORS) check sees a cross-origin request',
      remedy: 'Allow the public origin in Streamlit: server.enableCORS / server.enableXsrfProtection (or server.corsAllowedOrigins with the public URL), restart the app, then run again.',
      evidence,
    };
  }
  return { cause: 'the endpoint answers differently now than during the check (a transient failure?)', remedy: 'Run again; if it fails again, the evidence below is what the check saw.', evidence };
}

// 502: can the host itself reach the upstream? If it can, nginx kept an old address it resolved at start.
async function upstream(ctx: Ctx, evidence: string[]): Promise<Diagnosis> {
  const target = textOf(ctx.fact(ctx.host.facts.targetUrl));
  if (target === undefined) return { cause: 'the proxy cannot reach the upstream, and its target URL is unknown', remedy: 'Check the container env and the tunnel.', evidence };
  const probe = await ctx.exec(`${shellJoin(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '--', new URL(ENDPOINTS.health, target).toString()])} 2>&1 || true`);
  // curl's status (-w, 000 when there was no answer) and its error line, in whichever order the streams met.
  const said = probe.stdout.toString('utf8').trim();
  const status = /^(\d{3})|(\d{3})$/.exec(said);
  const fromHost = status?.[1] ?? status?.[2] ?? '';
  const why = (status ? said.replace(status[0], '') : said).trim();
  evidence.push(`from the host, GET ${target}${ENDPOINTS.health}: ${fromHost === '' || fromHost === '000' ? 'no answer' : fromHost}${why ? ` (${why})` : ''}`);
  evidence.push(...(await localNgrokTunnels(target)));
  if (fromHost === '200') {
    return {
      cause: 'the host reaches the upstream but nginx does not: nginx resolved the upstream\'s address once, at start, and keeps it (a resolver line does nothing for a literal proxy_pass)',
      remedy: `Restart the proxy so it resolves the tunnel again: docker compose restart ${ctx.host.params.service}; then run again.`,
      evidence,
    };
  }
  return {
    cause: 'the upstream (the tunnel) is down or unreachable from the host',
    remedy: 'Start the tunnel on the machine that runs the app (curl http://localhost:4040/api/tunnels there shows it), then run again.',
    evidence,
  };
}
