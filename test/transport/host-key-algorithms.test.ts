import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_KEY_ALGORITHMS, hostKeyAlgorithms } from '../../src/transport/host-key-algorithms.js';

describe('hostKeyAlgorithms (OpenSSH asks for the known key types first)', () => {
  it('keeps ssh2\'s order when nothing is known', () => {
    expect(hostKeyAlgorithms([])).toEqual([...DEFAULT_HOST_KEY_ALGORITHMS]);
  });
  it('moves a known RSA key\'s three algorithms to the front', () => {
    const list = hostKeyAlgorithms(['ssh-rsa']);
    expect(list.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect([...list].sort()).toEqual([...DEFAULT_HOST_KEY_ALGORITHMS].sort());
  });
  it('keeps known_hosts order and ignores types ssh2 cannot ask for', () => {
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp384', 'ssh-dss', 'ssh-ed25519']).slice(0, 2)).toEqual(['ecdsa-sha2-nistp384', 'ssh-ed25519']);
  });
});
