// Runs a command on a real pseudo-terminal (util-linux `script`), answering a prompt once it shows.
import { execFileSync, spawn } from 'node:child_process';
import { shellJoin } from '../../src/shell/quote.js';

export const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Runs argv under a pty; answers `answer` once `waitFor` shows up in the output (or calls it, to send a signal).
export function underTerminal(argv: string[], waitFor: string, answer: string | (() => void), env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const command = shellJoin(argv);
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = false;
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    if (!answered && output.includes(waitFor)) {
      answered = true;
      if (typeof answer === 'string') child.stdin.write(answer);
      else answer();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code, output });
    });
  });
}
