// A passphrase prompt on the terminal that echoes nothing: raw mode, so the typed characters never reach the screen.
import { InterruptedError } from '../errors.js';
import type { PassphrasePrompt } from './credentials.js';

/** The streams a prompt needs; a terminal's stdin has setRawMode. */
export interface PromptStreams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?(mode: boolean): unknown };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A prompt when stdin and stderr are both a terminal (stdout may carry --json); otherwise none. */
export function terminalPassphrasePrompt(streams: PromptStreams): PassphrasePrompt | undefined {
  if (!streams.stdin.isTTY || !streams.stderr.isTTY || typeof streams.stdin.setRawMode !== 'function') return undefined;
  return (question) => readHidden(streams, question);
}

/**
 * Writes the question to stderr and reads one line in raw mode. Backspace and Ctrl-U edit, Enter ends, Ctrl-D on an
 * empty line gives '' (pass the key over), Ctrl-C rejects as an interrupt: raw mode turns it into a byte, not a signal.
 */
export function readHidden(streams: PromptStreams, question: string): Promise<string> {
  const { stdin, stderr } = streams;
  // Raw mode (no echo) first: a passphrase typed or pasted the moment the question shows must not be echoed.
  const wasRaw = stdin.isRaw === true;
  stdin.setRawMode?.(true);
  stdin.resume();
  stderr.write(question);
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      stderr.write('\n');
    };
    const onEnd = (): void => {
      finish();
      resolve('');
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          finish();
          resolve(typed);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new InterruptedError('SIGINT'));
          return;
        }
        if (char === '\u0004') {
          if (typed === '') {
            finish();
            resolve('');
            return;
          }
        } else if (char === '\u007f' || char === '\b') {
          typed = Array.from(typed).slice(0, -1).join('');
        } else if (char === '\u0015') {
          typed = '';
        } else if (char >= ' ') {
          typed += char;
        }
      }
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
  });
}
