// Which host key to ask the server for. ssh2 asks for ed25519 first whatever known_hosts holds, so a host known by its
// RSA or ECDSA key would look "unknown"; OpenSSH's order_hostkeyalgs() asks for the already-known types first.

/** ssh2's default host key algorithms, in its order (lib/protocol/constants.js, with ed25519 available). */
export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

// A key type as known_hosts names it → the signature algorithms that present such a key (RSA has three).
function algorithmsOfKeyType(type: string): readonly string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return (DEFAULT_HOST_KEY_ALGORITHMS as readonly string[]).includes(type) ? [type] : [];
}

/** The default list with the algorithms of the known key types moved to the front, in known_hosts order. */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const first = [...new Set(knownTypes.flatMap(algorithmsOfKeyType))];
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((name) => !first.includes(name))];
}
