// What a bench process measures of itself, the same way in the fleet's tool (fleet-child.ts) and in the hosts'
// process (fake-hosts.ts), so that their figures compare.
import { readFileSync } from 'node:fs';
import type { IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay, ms, one decimal. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** The main thread's time waiting on a run queue (ready to run, no CPU free), from the kernel's schedstat; NaN elsewhere. */
export function runQueueSeconds(): number {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** A monitorEventLoopDelay histogram (ns) as ms with one decimal. */
export function loopDelayMs(histogram: IntervalHistogram): LoopDelay {
  const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
}
