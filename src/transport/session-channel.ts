// A command on an SSH session channel costs two round trips with ssh2's Client.exec: it opens the channel, waits for
// the server's confirmation, then sends the exec request. A channel opened ahead of time, while the previous command
// runs, makes it one: the exec goes out at once. ssh2 has no public call for "open a session now, exec later", so
// openSession and execOnSession do what its Client.exec does in two halves, through the same channel manager and
// protocol object (ssh2 1.x, lib/client.js: openChannel and reqExec). When a later ssh2 lacks them, warmable() is
// false and every command takes the two round trips of Client.exec.
import { createRequire } from 'node:module';
import type { Client, ClientChannel } from 'ssh2';

interface ClientInternals {
  _chanMgr?: { add(handler: ((error: Error | undefined, channel?: ClientChannel) => void) & { type?: string }): number };
  _protocol?: { session(id: number, window: number, packetSize: number): void; exec(id: number, command: string, wantReply: boolean): void };
}

interface ChannelInternals {
  _callbacks?: ((failed: boolean | Error) => void)[];
  outgoing?: { id: number; state: string };
  subtype?: string;
  allowHalfOpen?: boolean;
}

const { MAX_WINDOW, PACKET_SIZE } = createRequire(import.meta.url)('ssh2/lib/Channel.js') as { MAX_WINDOW: number; PACKET_SIZE: number };

/** Whether this ssh2 client can open a session channel apart from its exec. */
export function warmable(client: Client): boolean {
  const c = client as unknown as ClientInternals;
  return typeof c._chanMgr?.add === 'function' && typeof c._protocol?.session === 'function' && typeof c._protocol.exec === 'function' && Number.isInteger(MAX_WINDOW) && Number.isInteger(PACKET_SIZE);
}

/** Whether a channel opened ahead is still open on both sides (a server may close an idle one). */
export function stillOpen(channel: ClientChannel): boolean {
  const ch = channel as unknown as ChannelInternals & { incoming?: { state: string } };
  return ch.outgoing?.state === 'open' && ch.incoming?.state === 'open';
}

/** Opens a session channel and resolves once the server confirmed it (rejects as Client.exec would on a refusal). */
export function openSession(client: Client): Promise<ClientChannel> {
  const c = client as unknown as Required<ClientInternals>;
  return new Promise((resolve, reject) => {
    const handler = Object.assign(
      (error: Error | undefined, channel?: ClientChannel) => {
        if (error !== undefined || channel === undefined) reject(error ?? new Error('(SSH) Channel open failure: no channel'));
        else resolve(channel);
      },
      { type: 'session' },
    );
    const local = c._chanMgr.add(handler);
    if (local === -1) {
      reject(new Error('No free channels available'));
      return;
    }
    c._protocol.session(local, MAX_WINDOW, PACKET_SIZE);
  });
}

/**
 * Sends the exec request on an open session channel, then calls `then` at once (to send stdin and EOF behind it);
 * resolves with the channel once the server accepted the exec.
 */
export function execOnSession(channel: ClientChannel, command: string, then: (channel: ClientChannel) => void = () => {}): Promise<ClientChannel> {
  const ch = channel as unknown as ChannelInternals & { _client: Required<ClientInternals> };
  return new Promise((resolve, reject) => {
    if (ch.outgoing?.state !== 'open' || ch._callbacks === undefined) {
      reject(new Error('Channel is not open'));
      return;
    }
    ch._callbacks.push((failed) => {
      if (failed) {
        reject(failed instanceof Error ? failed : new Error('Unable to exec'));
        return;
      }
      ch.subtype = 'exec';
      ch.allowHalfOpen = true;
      resolve(channel);
    });
    ch._client._protocol.exec(ch.outgoing.id, command, true);
    then(channel);
  });
}
