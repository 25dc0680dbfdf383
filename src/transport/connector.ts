// How the CLI connects: one key ring per process, and on a terminal every passphrase prompt comes before the task
// list starts drawing, so the prompt is never redrawn over.
import { KeyRing } from './credentials.js';
import { terminalPassphrasePrompt, type PromptStreams } from './passphrase-prompt.js';
import { connectSsh, credentialSpecsOf, type SshTarget } from './ssh.js';
import type { Transport } from './transport.js';

export interface ConnectorIO extends PromptStreams {
  env: NodeJS.ProcessEnv;
  stderr: PromptStreams['stderr'];
}

/**
 * The core's connect function. With `preload` (one run, or every run of a fleet), the keys those runs will need are
 * loaded now, asking for passphrases on a terminal, each key file once; a failure there is not thrown here but again
 * by connect, so it lands in that run's report (exit 3).
 */
/** Where and how to connect: a run's options carry these (and more, which the transport ignores). */
export type ConnectOptions = Omit<SshTarget, 'env' | 'keyring' | 'notify'>;

export async function sshConnector(io: ConnectorIO, preload?: ConnectOptions | readonly ConnectOptions[]): Promise<(options: ConnectOptions) => Promise<Transport>> {
  const keyring = new KeyRing({ env: io.env, prompt: terminalPassphrasePrompt(io) });
  const runs: readonly ConnectOptions[] = preload === undefined ? [] : Array.isArray(preload) ? preload : [preload as ConnectOptions];
  for (const options of runs) await keyring.preload(credentialSpecsOf(options)).catch(() => undefined);
  const notify = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  return (options) => connectSsh({ ...options, env: io.env, keyring, notify });
}
