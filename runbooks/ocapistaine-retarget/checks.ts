// The retarget's own check: the config nginx loaded sends its requests to the new upstream.
import { StepError, execInContainer, type Check } from '../../src/index.js';
import { TARGET_VARIABLE, type Host } from './host.js';

const RENDERED_CONFIG = '/etc/nginx/nginx.conf';

/** The upstreams the config's proxy_pass directives name, in order. */
export function proxyPasses(config: string): string[] {
  return [...config.matchAll(/^\s*proxy_pass\s+([^;\s]+)\s*;/gm)].map((m) => m[1]!);
}

/** The rendered config's proxy_pass names the URL (itself, or a path below it), and no other upstream. */
export function proxyPassCheck(host: Host, url: () => string): Check {
  return {
    id: 'proxy-pass',
    title: 'The rendered nginx config proxies to the new upstream',
    concurrent: true,
    expects: `every proxy_pass in ${RENDERED_CONFIG} in the container names ${TARGET_VARIABLE}'s new value (or a path below it)`,
    async run(ctx) {
      const wanted = url();
      const read = await execInContainer(ctx, host.target, ['cat', RENDERED_CONFIG]);
      if (!read.ok) throw new StepError('proxy-pass', `cannot read ${RENDERED_CONFIG}: ${read.why}`, 'Is the container running? docker compose ps');
      const passes = proxyPasses(read.stdout.toString('utf8'));
      const names = (pass: string): boolean => pass === wanted || pass.startsWith(`${wanted}/`);
      if (passes.length === 0) throw new StepError('proxy-pass', `${RENDERED_CONFIG} has no proxy_pass`, 'Check the template and its entrypoint.');
      const other = passes.filter((pass) => !names(pass));
      if (other.length > 0) throw new StepError('proxy-pass', `${RENDERED_CONFIG} still proxies to ${other.join(', ')}, not ${wanted}`, `Does the template use \${${TARGET_VARIABLE}} in every proxy_pass? Was the container recreated? docker compose up -d --force-recreate`);
      return `proxy_pass ${passes.join(', ')}`;
    },
  };
}
