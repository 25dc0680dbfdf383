// Where an emulated docker command writes: stdout for data, stderr for progress and errors.
export interface CommandIO {
  out(data: string | Buffer): void;
  err(data: string | Buffer): void;
}

// Collects output in memory, for tests of commands and for the emulator's own use.
export function bufferIO(): CommandIO & { stdout(): string; stderr(): string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const bytes = (data: string | Buffer): Buffer => (typeof data === 'string' ? Buffer.from(data) : data);
  return {
    out: (data) => out.push(bytes(data)),
    err: (data) => err.push(bytes(data)),
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}
