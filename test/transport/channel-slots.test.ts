import { describe, expect, it } from 'vitest';
import { ChannelSlots, channelRefused } from '../../src/transport/channel-slots.js';

// A server that allows `max` channels at once and answers like ssh2 reports OpenSSH's refusal.
function server(max: number, holdMs = 5) {
  let open = 0;
  let peak = 0;
  let refusals = 0;
  const openChannel = async (): Promise<number> => {
    await new Promise((resolve) => setImmediate(resolve));
    if (open >= max) {
      refusals += 1;
      throw Object.assign(new Error('(SSH) Channel open failure: open failed'), { reason: 1 });
    }
    open += 1;
    peak = Math.max(peak, open);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    open -= 1;
    return open;
  };
  return { openChannel, stats: () => ({ peak, refusals }) };
}

describe('ChannelSlots', () => {
  it('never has more than the limit open, and runs everything queued', async () => {
    const slots = new ChannelSlots(3);
    const fake = server(10);
    const results = await Promise.all(Array.from({ length: 20 }, () => slots.run(fake.openChannel)));
    expect(results).toHaveLength(20);
    expect(fake.stats()).toEqual({ peak: 3, refusals: 0 });
    expect(slots.inUse).toBe(0);
  });

  it('takes a refused channel as "wait for one of ours to close", and lowers the limit to what the server allows', async () => {
    const slots = new ChannelSlots(8);
    const fake = server(2);
    const results = await Promise.all(Array.from({ length: 12 }, () => slots.run(fake.openChannel)));
    expect(results).toHaveLength(12);
    expect(fake.stats().peak).toBe(2);
    expect(slots.max).toBe(2);
    // the first burst knocks (8 asked, 2 allowed); after that the lowered limit keeps the others queued
    expect(fake.stats().refusals).toBeLessThanOrEqual(6 + 1);
    expect(slots.inUse).toBe(0);
  });

  it('retries a channel refused while none of ours is open (the server has not let go of a closed one yet)', async () => {
    const slots = new ChannelSlots(8, 5_000);
    let refuseFirst = 3;
    const result = await slots.run(async () => {
      if (refuseFirst-- > 0) throw new Error('(SSH) Channel open failure: open failed');
      return 'ran';
    });
    expect(result).toBe('ran');
    expect(slots.max).toBe(8);
  });

  it('gives up on a server that refuses every channel, with its error', async () => {
    const slots = new ChannelSlots(8, 100);
    const started = Date.now();
    await expect(slots.run(() => Promise.reject(new Error('(SSH) Channel open failure: open failed')))).rejects.toThrow(/Channel open failure/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(slots.inUse).toBe(0);
  });

  it('passes any other failure straight through, and frees the slot', async () => {
    const slots = new ChannelSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('Not connected')))).rejects.toThrow('Not connected');
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
  });

  it('knows a refused channel from other errors', () => {
    expect(channelRefused(new Error('(SSH) Channel open failure: open failed'))).toBe(true);
    expect(channelRefused(new Error('(SSH) Channel open failure: '))).toBe(true);
    expect(channelRefused(new Error('No response from server'))).toBe(false);
    expect(() => new ChannelSlots(0)).toThrow(/positive integer/);
  });
});
