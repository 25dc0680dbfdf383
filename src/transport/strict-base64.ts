// Base64 as OpenSSH reads it: whole quanta, correct padding, no stray characters or bits.

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// Node's decoder skips garbage silently; a damaged known_hosts field must be refused, not half-read.
export function decodeStrictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
