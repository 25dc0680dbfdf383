import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { CommandIO } from './compose/io.js';

export interface DockerCall {
  pwd: string;
  composeProfiles: string; // $COMPOSE_PROFILES of the calling shell ("" when unset)
  argv: string[];
}

export type DockerHandler = (call: DockerCall, io: CommandIO) => Promise<number>;

export interface DockerBridge {
  readonly port: number;
  close(): Promise<void>;
}

// Loopback endpoint for the remote `docker` script: one connection per call, authenticated by a token.
export async function startDockerBridge(token: string, handler: DockerHandler): Promise<DockerBridge> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    readCall(socket, token)
      .then(async (call) => {
        const io = framedIO(socket);
        if (call === undefined) {
          io.err('permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n');
          io.exit(1);
          return;
        }
        let code: number;
        try {
          code = await handler(call, io);
        } catch (error) {
          io.err(`fake host: docker emulator failed: ${(error as Error).stack ?? String(error)}\n`);
          code = 1;
        }
        io.exit(code);
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

// Reads token, $PWD, $COMPOSE_PROFILES, $# and the arguments, NUL-separated; undefined when the token is wrong.
function readCall(socket: Socket, token: string): Promise<DockerCall | undefined> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const fields: string[] = [];
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      let nul: number;
      while ((nul = buffer.indexOf(0)) !== -1) {
        fields.push(buffer.subarray(0, nul).toString('utf8'));
        buffer = buffer.subarray(nul + 1);
        if (fields.length === 1 && !sameToken(fields[0] ?? '', token)) return finish(undefined);
        const argc = Number(fields[3]);
        if (fields.length >= 4 && !(Number.isInteger(argc) && argc >= 0)) return finish(undefined);
        if (fields.length >= 4 && fields.length === 4 + argc) {
          return finish({ pwd: fields[1] ?? '/', composeProfiles: fields[2] ?? '', argv: fields.slice(4) });
        }
      }
    };
    const finish = (call: DockerCall | undefined): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      resolve(call);
    };
    const onEnd = (): void => reject(new Error('docker call cut short'));
    socket.on('data', onData);
    socket.on('end', onEnd);
  });
}

// A wrong token must not be guessable byte by byte.
function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

// Frames stdout/stderr chunks as they come, so slow commands show progress like Compose does.
function framedIO(socket: Socket): CommandIO & { exit(code: number): void } {
  const frame = (kind: 'o' | 'e', data: string | Buffer): void => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length === 0 || socket.destroyed) return;
    socket.write(Buffer.concat([Buffer.from(`${kind}${bytes.length}\0`), bytes]));
  };
  return {
    out: (data) => frame('o', data),
    err: (data) => frame('e', data),
    exit: (code) => {
      if (!socket.destroyed) socket.end(`x${code}\0`);
    },
  };
}
