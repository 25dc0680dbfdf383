// A runbook written outside apply-ws-fix, against its public API only: it adds security headers to the ocapistaine
// nginx proxy as a marked block in its template (as Ansible's blockinfile does), rebuilds, tests the image with
// nginx -t, recreates the container, and checks the headers through the public URL. Run it with
//   apply-ws-fix --runbook ./security-headers/runbook.mjs --host vaettir.locki.io --dry-run
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  RemotePath,
  StepError,
  blockInFile,
  composeBuild,
  composeUp,
  composeValidate,
  containerFileFact,
  containerRunning,
  defineRunbook,
  fileFact,
  param,
} from 'apply-ws-fix';

// The headers, as nginx lines; `always` sends them on error pages too.
const HEADERS = [
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
];
const BLOCK = HEADERS.map(([name, value]) => `add_header ${name} "${value}" always;`).join('\n');
const RENDERED = '/etc/nginx/nginx.conf';

function hostOf(p) {
  const dir = new RemotePath(p.dir);
  const target = { dir, service: p.service, profiles: ['production', 'proxy'] };
  const template = dir.join(`proxy-configs/${p.service}.conf.template`);
  return { dir, target, template, templateFact: fileFact(template), rendered: containerFileFact(target, RENDERED) };
}

// The running container already serves the headers: every line of the block is in the config nginx loaded.
function servesHeaders(host, ctx) {
  const read = ctx.fact(host.rendered);
  return read.ok && BLOCK.split('\n').every((line) => read.stdout.toString('utf8').includes(line));
}

// The container serves the template as it is on the host: headers in both, or in neither (for --rollback's plan).
function servesTemplate(host, ctx) {
  return servesHeaders(host, ctx) === BLOCK.split('\n').every((line) => ctx.fact(host.templateFact).toString('utf8').includes(line));
}

// The response headers of a GET, from this machine.
function headersOf(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const send = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

function headersCheck(url) {
  return {
    id: 'headers',
    title: 'The public URL sends the security headers',
    expects: `GET ${url} answers with ${HEADERS.map(([name, value]) => `${name}: ${value}`).join(' and ')}`,
    async run(ctx) {
      let answer;
      try {
        answer = await headersOf(url, ctx.options.probeTimeoutMs);
      } catch (error) {
        throw new StepError('headers', `GET ${url} got no answer: ${error.message}`, 'Is the proxy up? docker compose ps');
      }
      const missing = HEADERS.filter(([name, value]) => answer.headers[name.toLowerCase()] !== value);
      if (missing.length > 0) {
        throw new StepError('headers', `GET ${url} (${answer.status}) lacks ${missing.map(([name]) => name).join(', ')}`, 'Was the image rebuilt and the container recreated? Is something in front of nginx stripping headers?');
      }
      return `${answer.status}, ${HEADERS.map(([name]) => name).join(', ')} present`;
    },
  };
}

export default defineRunbook({
  id: 'security-headers',
  title: 'Security headers for the ocapistaine nginx proxy',
  description: 'Inserts add_header lines (HSTS, X-Content-Type-Options) as a marked block in the proxy template, rebuilds, tests with nginx -t, recreates the container, and checks the headers through the public URL.',
  connection: { host: 'vaettir.locki.io', port: 22, user: 'jnxmas' },
  params: {
    dir: param.path({ default: '~/vaettir', description: 'the compose project directory on the host' }),
    service: param.name({ default: 'ocapistaine', description: 'the compose service of the proxy' }),
    url: param.url({ default: 'https://ocapistaine.vaettir.locki.io', description: 'the public URL checked from this machine' }),
  },
  project: (p) => p.dir,
  describe: (p) => `${p.dir}, service ${p.service}`,
  // Read before anything is planned: the template, and the config nginx loaded in the running container.
  facts(p) {
    const host = hostOf(p);
    return [host.templateFact, host.rendered];
  },
  apply(p) {
    const host = hostOf(p);
    // Build, test and restart when the template changes, or when the running container does not serve the headers yet.
    const when = (ctx) => {
      if (ctx.planOf('write-template')?.kind === 'change') return { run: true };
      if (servesHeaders(host, ctx)) return { run: false, reason: 'the running container already sends the headers' };
      return { run: true, why: 'the running container does not send the headers yet', forceRecreate: true };
    };
    return {
      steps: [
        ...blockInFile({
          name: 'security-headers',
          path: host.template,
          block: BLOCK,
          // Inside the server block, before its first directive: every location without add_header of its own inherits it.
          insertAfter: /^\s*server\s*\{/,
          backupSuffix: '.headers-backup',
          ids: { backup: 'backup-template', write: 'write-template', restore: 'restore-template' },
          titles: { backup: 'Back up the template', write: 'Add the security headers block to the template', restore: 'Restore the template' },
          noun: 'the template',
        }),
        composeBuild({ target: host.target, when, servesNow: (ctx) => servesTemplate(host, ctx), condition: 'only when the template changes or the container does not send the headers' }),
        composeValidate({
          target: host.target,
          argv: ['nginx', '-t'],
          title: 'Test the new config with nginx -t',
          when,
          rejected: 'nginx rejects the config with the headers; it did not go live',
          remedy: 'Fix what nginx names; the running container was not touched.',
          condition: 'only when the image is rebuilt',
        }),
        composeUp({ target: host.target, title: 'Restart the service with the new image', when, servedByFacts: (ctx) => servesTemplate(host, ctx), condition: 'only when the image is rebuilt' }),
      ],
      checks: [containerRunning({ target: host.target }), headersCheck(new URL('/_stcore/health', p.url).toString())],
    };
  },
  rollbackChecks: (p) => [containerRunning({ target: hostOf(p).target })],
  printable: ['OCAPISTAINE_TARGET_URL'],
});
