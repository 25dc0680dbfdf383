#!/usr/bin/env node
// The executable: real process streams and signals in, the exit code out. The only process.exit.
import { main } from './cli/main.js';

const exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  onSignal(handler) {
    // SIGHUP (a closed terminal, a dropped session to a jump box) stops like SIGTERM: at a safe point, rolled back.
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const handlers = signals.map((signal) => [signal, (): void => handler(signal)] as const);
    for (const [signal, on] of handlers) process.on(signal, on);
    return () => {
      for (const [signal, on] of handlers) process.off(signal, on);
    };
  },
});
// Into a pipe, stdout is written asynchronously: exiting at once would cut a long --json (a fleet's, a merge's) after
// 64 KiB. An empty write's callback comes once everything before it has gone out; a reader that went away (| head)
// ends the wait too.
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) =>
      new Promise<void>((resolve) => {
        stream.once('error', () => resolve());
        stream.write('', () => resolve());
      }),
  ),
);
process.exit(exitCode);
