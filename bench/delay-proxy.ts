// A local TCP proxy that adds a fixed one-way delay to every chunk in each direction (25 ms → 50 ms
// round trip), and records when each side wrote, so the bench can count round trips. No tc/netem:
// latency is added in user space, order preserved (Node runs equal-delay timers first in, first out).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Chunk {
  /** ms since the proxy's clock was last reset */
  t: number;
  from: 'client' | 'server';
  bytes: number;
}

export interface ConnectionTrace {
  chunks: Chunk[];
}

export interface TrafficCount {
  connections: number;
  /** Client→server write bursts: a client chunk that follows a server chunk (or opens the connection). */
  clientBursts: number;
  /**
   * Round trips on the client's side of the wire, clustered by time: a client write opens a new round
   * only once a whole round trip (2 × delay) has passed since the current round opened. Writes inside
   * one round trip cannot be answers to each other, so concurrent channels count once per round.
   */
  rounds: number;
  /**
   * The rounds the server answered: server data reached the proxy within one more delay after the round reached
   * the server. Requests (kex, auth, channel open, exec) are answered at once; a round of channel closes or window
   * adjusts is not, and is not a round trip anyone waits for.
   */
  answeredRounds: number;
  bytesUp: number;
  bytesDown: number;
  /** When each round opened (ms since the proxy's clock was reset). */
  roundTimes: number[];
}

export interface DelayProxy {
  readonly port: number;
  readonly delayMs: number;
  /** Forgets the traces so far and restarts the clock (call before each measured run). */
  reset(): void;
  traces(): ConnectionTrace[];
  count(): TrafficCount;
  close(): Promise<void>;
}

export function countTraffic(traces: readonly ConnectionTrace[], delayMs: number): TrafficCount {
  const result: TrafficCount = { connections: traces.length, clientBursts: 0, rounds: 0, answeredRounds: 0, bytesUp: 0, bytesDown: 0, roundTimes: [] };
  const rtt = 2 * delayMs;
  const replyWindow = Math.max(delayMs, 10);
  for (const trace of traces) {
    const serverTimes = trace.chunks.filter((c) => c.from === 'server').map((c) => c.t);
    const answered = (t: number): boolean => serverTimes.some((s) => s >= t + delayMs && s <= t + delayMs + replyWindow);
    let last: Chunk['from'] | undefined;
    let roundOpened = Number.NEGATIVE_INFINITY;
    for (const chunk of trace.chunks) {
      if (chunk.from === 'client') {
        result.bytesUp += chunk.bytes;
        if (last !== 'client') result.clientBursts++;
        if (chunk.t >= roundOpened + rtt) {
          result.rounds++;
          if (answered(chunk.t)) result.answeredRounds++;
          result.roundTimes.push(Math.round(chunk.t));
          roundOpened = chunk.t;
        }
      } else {
        result.bytesDown += chunk.bytes;
      }
      last = chunk.from;
    }
  }
  return result;
}

export async function startDelayProxy(target: { host: string; port: number }, delayMs: number): Promise<DelayProxy> {
  let epoch = performance.now();
  let traces: ConnectionTrace[] = [];
  const sockets = new Set<Socket>();

  // Pipes one direction with the delay; ends the other side after the last delayed chunk.
  const pipe = (from: Socket, to: Socket, side: Chunk['from'], trace: ConnectionTrace): void => {
    const send = (fn: () => void): void => {
      if (delayMs > 0) setTimeout(fn, delayMs);
      else fn();
    };
    from.on('data', (data: Buffer) => {
      trace.chunks.push({ t: performance.now() - epoch, from: side, bytes: data.length });
      send(() => {
        if (!to.destroyed) to.write(data);
      });
    });
    from.on('end', () => send(() => to.end()));
    from.on('error', () => send(() => to.destroy()));
    from.on('close', () => send(() => to.destroy()));
  };

  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const trace: ConnectionTrace = { chunks: [] };
    traces.push(trace);
    const upstream = connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipe(client, upstream, 'client', trace);
    pipe(upstream, client, 'server', trace);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('delay proxy: no TCP address');
  return {
    port: address.port,
    delayMs,
    reset() {
      traces = [];
      epoch = performance.now();
    },
    traces: () => traces,
    count: () => countTraffic(traces, delayMs),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
