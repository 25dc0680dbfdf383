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
 * The engine's connect function. With `preload`, the keys that run will need are loaded now (asking for passphrases on
 * a terminal); a failure there is not thrown here but again by connect, so it lands in the run's report (exit 3).
 */
export async function sshConnector(io: ConnectorIO, preload?: RunOptions): Promise<(options: RunOptions) => Promise<Transport>> {
  const keyring = new KeyRing({ env: io.env, prompt: terminalPassphrasePrompt(io) });
  if (preload !== undefined) await keyring.preload(credentialSpecsOf(preload)).catch(() => undefined);
  const notify = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  return (options) => connectSsh({ ...options, env: io.env, keyring, notify });
}
