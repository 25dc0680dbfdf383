// Several read-only commands as one remote command: each runs in a subshell of its own, side by side, its stdout and
// stderr kept in a private temp directory; then every result is printed as a header (exit status, byte counts) and
// the bytes. One exec instead of one per command: on a distant host, one round trip instead of several.
import type { ExecResult } from '../transport/transport.js';

const HEADER = '@apply-ws-fix-batch';
/** The header before each command's bytes: its exit status, then how many bytes of stdout and of stderr follow. */
const HEADER_LINE = new RegExp(`^${HEADER} (\\d+) (\\d+) (\\d+)$`);
/** The batch's own exit status when it could not make its temp directory (a full disk): run the commands one by one. */
export const BATCH_UNAVAILABLE = 97;

/** The remote command that runs `commands` side by side and prints each one's framed result, in order. */
export function batchCommand(commands: readonly string[]): string {
  const start = commands.map((command, i) => `( ${command}\n) >"$d/${i}" 2>"$d/${i}e" </dev/null & p${i}=$!`).join('\n');
  const wait = commands.map((_, i) => `wait "$p${i}"; x${i}=$?`).join('; ');
  const print = commands.map((_, i) => `printf '${HEADER} %s %s %s\\n' "$x${i}" $(wc -c <"$d/${i}") $(wc -c <"$d/${i}e"); cat -- "$d/${i}" "$d/${i}e"`).join('; ');
  return [`d=$(mktemp -d 2>/dev/null) || exit ${BATCH_UNAVAILABLE}`, `trap 'rm -rf -- "$d"' EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM`, start, wait, print].join('\n');
}

/**
 * Each command's result from the batch's output. When the batch itself failed before printing every frame (the host
 * refused it, or it was cut), every command not framed shares the batch's failure.
 */
export function splitBatch(batch: ExecResult, commands: readonly string[]): ExecResult[] {
  const out = batch.stdout;
  const results: ExecResult[] = [];
  let at = 0;
  for (const command of commands) {
    const eol = out.indexOf(0x0a, at);
    const header = eol === -1 ? null : HEADER_LINE.exec(out.subarray(at, eol).toString('latin1'));
    const outBytes = header ? Number(header[2]) : 0;
    const errBytes = header ? Number(header[3]) : 0;
    if (header === null || eol + 1 + outBytes + errBytes > out.length) {
      results.push({ ...batch, command, stdout: Buffer.alloc(0), code: batch.code === 0 ? 1 : batch.code });
      continue;
    }
    const body = eol + 1;
    results.push({ command, code: Number(header[1]), signal: null, stdout: out.subarray(body, body + outBytes), stderr: out.subarray(body + outBytes, body + outBytes + errBytes), durationMs: batch.durationMs });
    at = body + outBytes + errBytes;
  }
  return results;
}
