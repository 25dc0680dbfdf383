// How the CLI connects: one key ring per process, and on a terminal every passphrase prompt comes before the task
// list starts drawing, so the prompt is never redrawn over.
import type { RunOptions } from '../engine/options.js';
import { KeyRing } from './credentials.js';
import { terminalPassphrasePrompt, type PromptStreams } from './passphrase-prompt.js';
import { connectSsh, credentialSpecsOf } from './ssh.js';
import type { Transport } from './transport.js';

export interface ConnectorIO extends PromptStreams {
  env: NodeJS.ProcessEnv;
  stderr: PromptStreams['stderr'];
}

/**
 * The engine's connect function. With `preload` (one run, or every run of a fleet), the keys those runs will need are
 * loaded now, asking for passphrases on a terminal, each key file once; a failure there is not thrown here but again
 * by connect, so it lands in that run's report (exit 3).
 */
export async function sshConnector(io: ConnectorIO, preload?: RunOptions | readonly RunOptions[]): Promise<(options: RunOptions) => Promise<Transport>> {
  const keyring = new KeyRing({ env: io.env, prompt: terminalPassphrasePrompt(io) });
  const runs = preload === undefined ? [] : Array.isArray(preload) ? (preload as readonly RunOptions[]) : [preload as RunOptions];
  for (const options of runs) await keyring.preload(credentialSpecsOf(options)).catch(() => undefined);
  const notify = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  return (options) => connectSsh({ ...options, env: io.env, keyring, notify });
}
