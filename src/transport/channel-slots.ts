// How many session channels a connection may have open at once. sshd refuses the channel past its MaxSessions
// (OpenSSH's default: 10): a channel open failure, "open failed" (reason 2 from OpenSSH 9; other servers say
// "administratively prohibited"), and a read burst asks for about that many at once.

/** Channels the transport opens at once on one connection, unless the server shows it allows fewer. */
export const DEFAULT_MAX_CHANNELS = 8;

/** How long a channel the server refuses while none of ours is open (so none will free up) is tried again. */
export const REFUSED_RETRY_MS = 10_000;

/** Whether an exec failed because the server refused to open its channel (no command ran). */
export function channelRefused(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /^\(SSH\) Channel open failure/.test(message);
}

/**
 * A counting semaphore over the connection's channels. `run` waits for a free slot; a channel the server refuses
 * waits for one of ours to close and is then tried again: the server counts its sessions, and ours are the only
 * ones on this connection. The limit then drops to what was open, so the next burst does not knock again. With
 * none of ours open (the server has not yet let go of a channel we closed), it retries after a growing pause, for at
 * most REFUSED_RETRY_MS.
 */
export class ChannelSlots {
  private open = 0;
  private readonly queue: (() => void)[] = [];
  private closed: (() => void)[] = [];

  constructor(
    private limit: number = DEFAULT_MAX_CHANNELS,
    private readonly retryForMs: number = REFUSED_RETRY_MS,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`the channel limit must be a positive integer, not ${limit}`);
  }

  /** The current limit (lowered once the server refuses a channel). */
  get max(): number {
    return this.limit;
  }

  /** Channels open (or opening) right now. */
  get inUse(): number {
    return this.open;
  }

  /** Runs `open` (which opens one channel and resolves once it has closed) within the limit. */
  async run<T>(open: () => Promise<T>): Promise<T> {
    let pause = 20;
    let refusedAlone: number | undefined;
    for (;;) {
      await this.acquire();
      let othersOpen: number;
      try {
        return await open();
      } catch (error) {
        if (!channelRefused(error)) throw error;
        othersOpen = this.open - 1;
        if (othersOpen > 0) {
          refusedAlone = undefined;
          this.limit = Math.min(this.limit, othersOpen);
        } else {
          refusedAlone ??= Date.now();
          if (Date.now() - refusedAlone >= this.retryForMs) throw error;
        }
      } finally {
        this.release();
      }
      if (othersOpen > 0) {
        await this.nextClose();
      } else {
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 500);
      }
    }
  }

  private acquire(): Promise<void> {
    if (this.open < this.limit) {
      this.open += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const closed = this.closed;
    this.closed = [];
    for (const resolve of closed) resolve();
    // hand the slot on only while under the (maybe lowered) limit
    if (this.open <= this.limit) {
      const next = this.queue.shift();
      if (next !== undefined) {
        next();
        return;
      }
    }
    this.open -= 1;
  }

  private nextClose(): Promise<void> {
    return new Promise((resolve) => this.closed.push(resolve));
  }
}
