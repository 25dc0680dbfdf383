// Read-only check kinds: the container runs, its logs are clean, a file or a variable in it is as expected,
// a URL answers, a WebSocket handshake completes.
import type { ComposeTarget } from '../compose/commands.js';
import { StepError } from '../errors.js';
import { httpStatus, websocketHandshake, websocketUrl, type ProbeResult } from '../lib/probes.js';
import { maskSecrets } from '../shell/mask.js';
import { firstLine, succeeded } from '../transport/transport.js';
import { composeCommands } from '../compose/commands.js';
import type { Check, ExecContext } from '../core/types.js';
import { containerEnvFact, containerFact, execInContainer, logsFact, waitRunning } from './compose.js';

/** The container runs, and after a change still runs once a settle time has passed (a crash loop shows Up first). */
export function containerRunning(options: { target: ComposeTarget; id?: string; title?: string }): Check {
  const { target } = options;
  const ps = containerFact(target);
  const id = options.id ?? 'running';
  return {
    id,
    title: options.title ?? 'The container is running',
    facts: [ps],
    expects: `docker compose ps shows ${target.service} running, and still running after the settle time`,
    async run(ctx) {
      // Nothing changed: the look taken with the facts moments ago will do.
      const seen = ctx.fact(ps);
      if (!ctx.changed && seen !== undefined) {
        if (seen.state !== 'running') throw new StepError(id, `${seen.name} is not running: ${seen.status}`, `Read the logs: docker compose logs ${target.service} --tail 100 (a config error shows as [emerg]).`);
        return `${seen.name}: ${seen.status}`;
      }
      const settle = ctx.changed ? ctx.options.settleMs : 0;
      const status = await waitRunning(ctx, target, settle, ctx.changed ? ctx.options.startTimeoutMs : 0, id);
      return settle > 0 ? `${status.name}: ${status.status} (still running after ${settle / 1000} s)` : `${status.name}: ${status.status}`;
    },
  };
}

/** The service's last log lines carry no line `find` picks out. Never `logs -f`: it does not return. */
export function logScan(options: { target: ComposeTarget; tail: number; find: (logs: string) => string[]; what: string; remedy: string; clean?: string; printable?: readonly string[]; id?: string; title?: string; concurrent?: boolean }): Check {
  const { target, tail } = options;
  const logs = logsFact(target, tail);
  const id = options.id ?? 'logs';
  return {
    id,
    title: options.title ?? `The logs carry no ${options.what} lines`,
    concurrent: options.concurrent ?? true,
    facts: [logs],
    expects: `no ${options.what} in docker compose logs --tail ${tail} ${target.service}`,
    async run(ctx) {
      // Nothing restarted: the logs read with the facts moments ago are the logs.
      let text = ctx.changed ? undefined : ctx.fact(logs);
      if (text === undefined) {
        const result = await ctx.exec(composeCommands.logs(target, tail));
        if (!succeeded(result)) throw new StepError(id, `docker compose logs failed: ${firstLine(result)}`);
        text = `${result.stdout.toString('utf8')}\n${result.stderr.toString('utf8')}`;
      }
      const found = options.find(text);
      if (found.length > 0) {
        const shown = maskSecrets(found.slice(-5).join('\n'), options.printable ?? []);
        throw new StepError(id, `the last ${tail} log lines carry ${found.length} ${options.what} line(s):\n${shown}`, options.remedy);
      }
      return options.clean ?? `no ${options.what} line in the last ${tail} lines`;
    },
  };
}

/**
 * A variable in the running container equals a value. A secret is compared by checksum on the host
 * (`printenv NAME | sha256sum`), so its value never crosses the wire.
 */
export function containerEnv(options: { target: ComposeTarget; name: string; equals: (ctx: ExecContext) => string | Promise<string>; expects?: string; secret?: boolean; id?: string; title?: string; concurrent?: boolean }): Check {
  const { target, name } = options;
  const id = options.id ?? `env-${name.toLowerCase()}`;
  return {
    id,
    title: options.title ?? `${name} in the container has the new value`,
    concurrent: options.concurrent ?? true,
    ...(options.secret ? {} : { facts: [containerEnvFact(target, name)] }),
    expects: options.expects ?? (options.secret ? `sha256 of printenv ${name} in the container equals the new value's` : `printenv ${name} in the container prints the new value`),
    async run(ctx) {
      const expected = await options.equals(ctx);
      if (options.secret) {
        const { createHash } = await import('node:crypto');
        const want = createHash('sha256').update(`${expected}\n`).digest('hex');
        const result = await ctx.exec(`${composeCommands.exec(target, ['printenv', name])} | sha256sum`);
        const got = result.stdout.toString('utf8').slice(0, 64);
        if (!succeeded(result)) throw new StepError(id, `cannot read ${name} in the container: ${firstLine(result)}`);
        if (got !== want) throw new StepError(id, `${name} in the container is not the new value (sha256 ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…)`, 'Was the container recreated after the .env change? docker compose up -d --force-recreate');
        return `${name} in the container has the new value (sha256 ${want.slice(0, 12)}…)`;
      }
      const read = ctx.changed ? await execInContainer(ctx, target, ['printenv', name]) : ctx.fact(containerEnvFact(target, name));
      if (!read.ok) throw new StepError(id, read.missing ? `cannot check ${name}: ${read.why}` : `${name} is not set in the container`, read.missing ? 'Use an image that has printenv, or check the variable by hand.' : `Set ${name} in the compose environment (.env in the project directory).`);
      const value = read.stdout.toString('utf8').replace(/\n$/, '');
      if (value !== expected) throw new StepError(id, `${name} in the container is ${value}, not ${expected}`, 'Was the container recreated after the change? docker compose up -d --force-recreate');
      return `${name}=${value}`;
    },
  };
}

const show = (result: ProbeResult): string => (result.status !== null ? String(result.status) : `no answer (${result.error ?? 'unknown error'})`);

/** A URL answers with a status, from this machine. */
export function httpCheck(options: { url: string; status: number; id?: string; title?: string; concurrent?: boolean }): Check {
  const id = options.id ?? 'http';
  return {
    id,
    title: options.title ?? `${options.url} answers ${options.status}`,
    ...(options.concurrent !== undefined ? { concurrent: options.concurrent } : {}),
    expects: `GET ${options.url} answers ${options.status}`,
    async run(ctx) {
      const result = await httpStatus(options.url, 'GET', ctx.options.probeTimeoutMs);
      if (result.status !== options.status) throw new StepError(id, `GET ${options.url} answered ${show(result)}, not ${options.status}`, result.status === 502 ? 'The proxy cannot reach the upstream.' : 'Check the service behind the URL.');
      return `GET ${options.url}: ${result.status}`;
    },
  };
}

/** A WebSocket handshake on a URL gets 101, from this machine (with a browser's Origin too, when asked). */
export function wsHandshake(options: { url: string; origin?: boolean; id?: string; title?: string; concurrent?: boolean }): Check {
  const id = options.id ?? 'websocket';
  return {
    id,
    title: options.title ?? `A WebSocket handshake on ${options.url} gets 101`,
    ...(options.concurrent !== undefined ? { concurrent: options.concurrent } : {}),
    expects: `a WebSocket handshake on ${options.url} answers 101 Switching Protocols${options.origin ? ', with and without a browser\'s Origin' : ''}`,
    async run(ctx) {
      const url = websocketUrl(options.url, new URL(options.url).pathname);
      const origin = new URL(options.url).origin;
      const [plain, browser] = await Promise.all([
        websocketHandshake(url, ctx.options.probeTimeoutMs),
        options.origin ? websocketHandshake(url, ctx.options.probeTimeoutMs, { Origin: origin }) : Promise.resolve({ status: 101 } as ProbeResult),
      ]);
      if (plain.status !== 101) throw new StepError(id, `the WebSocket handshake on ${options.url} did not get 101 (${show(plain)})`, plain.status === 502 ? 'The proxy cannot reach the upstream.' : 'The upgrade headers do not reach the app.');
      if (browser.status !== 101) throw new StepError(id, `a browser's WebSocket handshake (Origin ${origin}) got ${show(browser)}`, 'The app refuses the browser\'s Origin.');
      return `handshake 101${options.origin ? ' (with a browser\'s Origin 101)' : ''}`;
    },
  };
}
