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
process.exit(exitCode);
