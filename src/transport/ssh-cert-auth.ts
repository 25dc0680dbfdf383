// OpenSSH user certificates (ssh-keygen -s) for ssh2, which has no support for them: the certificate blob is sent as
// the public key, under the certificate's algorithm name, and the signature is made by the plain private key under
// the plain algorithm name (PROTOCOL.certkeys). ssh2 writes one name for both, so for certificate keys only, its
// Protocol.authPK is replaced by the same packet with the two names told apart. Any other key goes through ssh2's own.
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import ssh2, { type ParsedKey } from 'ssh2';

const require = createRequire(import.meta.url);

const CERT = Symbol.for('apply-ws-fix.certificate');
const USERAUTH_REQUEST = 50;

/** The certificate types we can sign for, with the plain type of their key. */
const CERT_TYPES: Record<string, string> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
};

interface CertInfo {
  /** The certificate blob, as the .pub file holds it. */
  blob: Buffer;
  /** The name the public key goes under (rsa-sha2-512-cert-v01@openssh.com for RSA, never SHA-1). */
  algorithm: string;
  /** The signature's own name (rsa-sha2-512, ssh-ed25519, ecdsa-sha2-nistp256…). */
  signatureAlgorithm: string;
  /** The plain key type, for ssh2's signature conversion (DER → SSH for ECDSA). */
  keyType: string;
}

function readString(buffer: Buffer, at: number): [Buffer, number] {
  if (at + 4 > buffer.length) throw new Error('truncated');
  const length = buffer.readUInt32BE(at);
  if (at + 4 + length > buffer.length) throw new Error('truncated');
  return [buffer.subarray(at + 4, at + 4 + length), at + 4 + length];
}

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export interface ParsedCertificate {
  type: string;
  keyType: string;
  blob: Buffer;
  /** The plain public key the certificate certifies, as a key blob: to pair it with its private key. */
  publicBlob: Buffer;
}

/** Reads a certificate line (`ssh-ed25519-cert-v01@openssh.com AAAA… comment`); undefined when it is not one we support. */
export function parseCertificateLine(text: string): ParsedCertificate | undefined {
  const [type, data] = text.trim().split(/\s+/);
  if (type === undefined || data === undefined || CERT_TYPES[type] === undefined) return undefined;
  return parseCertificateBlob(Buffer.from(data, 'base64'));
}

/** Reads a certificate blob (as an agent lists it); undefined when it is not a certificate we support. */
export function parseCertificateBlob(blob: Buffer): ParsedCertificate | undefined {
  try {
    let at = 0;
    let field: Buffer;
    [field, at] = readString(blob, at);
    const type = field.toString();
    const keyType = CERT_TYPES[type];
    if (keyType === undefined) return undefined;
    [, at] = readString(blob, at); // nonce
    const fields: Buffer[] = [];
    const count = keyType === 'ssh-ed25519' ? 1 : 2; // ed25519: pk; rsa: e, n; ecdsa: curve, Q
    for (let i = 0; i < count; i++) {
      [field, at] = readString(blob, at);
      fields.push(field);
    }
    return { type, keyType, blob, publicBlob: Buffer.concat([sshString(keyType), ...fields.map(sshString)]) };
  } catch {
    return undefined;
  }
}

/** Every identity blob an agent lists, certificates included (ssh2's own listing drops what it cannot parse). */
export function listAgentBlobs(socket: string, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket);
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('no answer')), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      connection.destroy();
      reject(error);
    };
    connection.on('error', fail);
    connection.on('connect', () => connection.write(Buffer.from([0, 0, 0, 1, 11]))); // SSH_AGENTC_REQUEST_IDENTITIES
    connection.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readUInt32BE(0)) return;
      clearTimeout(timer);
      connection.destroy();
      try {
        if (received[4] !== 12) throw new Error('the agent refused to list its keys'); // SSH_AGENT_IDENTITIES_ANSWER
        const count = received.readUInt32BE(5);
        const blobs: Buffer[] = [];
        let at = 9;
        for (let i = 0; i < count; i++) {
          let blob: Buffer;
          [blob, at] = readString(received, at);
          [, at] = readString(received, at);
          blobs.push(Buffer.from(blob));
        }
        resolve(blobs);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

let installed: boolean | undefined;

// Replaces Protocol.authPK for certificate keys; false when this ssh2 does not look as expected (then: no certificates).
function install(): boolean {
  if (installed !== undefined) return installed;
  try {
    const Protocol = require('ssh2/lib/protocol/Protocol.js') as { prototype: Record<string, unknown> };
    const utils = require('ssh2/lib/protocol/utils.js') as { sendPacket?: unknown; convertSignature?: unknown };
    const original = Protocol.prototype['authPK'];
    const sendPacket = utils.sendPacket as (proto: unknown, packet: Buffer) => void;
    const convertSignature = utils.convertSignature as (signature: Buffer, keyType: string) => Buffer | false;
    if (typeof original !== 'function' || typeof sendPacket !== 'function' || typeof convertSignature !== 'function') return (installed = false);
    Protocol.prototype['authPK'] = function authPK(this: ProtocolInternals, username: string, pubKey: unknown, keyAlgo: unknown, cbSign?: unknown) {
      const cert = (pubKey as { [CERT]?: CertInfo } | undefined)?.[CERT];
      if (cert === undefined) return (original as (...args: unknown[]) => unknown).call(this, username, pubKey, keyAlgo, cbSign);
      const sign = (typeof keyAlgo === 'function' ? keyAlgo : cbSign) as ((data: Buffer, done: (signature: Buffer) => void) => void) | undefined;
      const request = (signed: boolean): Buffer =>
        Buffer.concat([Buffer.from([USERAUTH_REQUEST]), sshString(username), sshString('ssh-connection'), sshString('publickey'), Buffer.from([signed ? 1 : 0]), sshString(cert.algorithm), sshString(cert.blob)]);
      const send = (payload: Buffer): void => {
        const packet = this._packetRW.write.alloc(payload.length);
        packet.set(payload, this._packetRW.write.allocStart);
        this._authsQueue.push('publickey');
        sendPacket(this, this._packetRW.write.finalize(packet));
      };
      if (sign === undefined) return send(request(false));
      const payload = request(true);
      sign(Buffer.concat([sshString(this._kex.sessionID), payload]), (raw) => {
        const signature = convertSignature(raw, cert.keyType);
        if (signature === false) throw new Error('Error while converting handshake signature');
        send(Buffer.concat([payload, sshString(Buffer.concat([sshString(cert.signatureAlgorithm), sshString(signature)]))]));
      });
    };
    return (installed = true);
  } catch {
    return (installed = false);
  }
}

interface ProtocolInternals {
  _kex: { sessionID: Buffer };
  _packetRW: { write: { alloc(length: number): Buffer; allocStart: number; finalize(packet: Buffer): Buffer } };
  _authsQueue: string[];
}

/** Whether certificates can be used with this ssh2 (the patch installed). */
export function certificatesSupported(): boolean {
  return install();
}

/**
 * A key ssh2 will offer as the certificate: the private key's own methods (inherited), the certificate's blob and
 * algorithm. RSA signs with SHA-512, as OpenSSH does with rsa-sha2-512-cert-v01@openssh.com.
 */
export function certificateKey(key: ParsedKey, certificate: ParsedCertificate): ParsedKey {
  if (!install()) throw new Error('certificates are not supported with this version of ssh2');
  const rsa = certificate.keyType === 'ssh-rsa';
  return withCertificate(key, certificate, (data: Buffer, hash?: string) => key.sign(data, rsa ? 'sha512' : hash));
}

/**
 * A certificate the ssh-agent holds, with its private key: offered through the agent, which signs when asked with the
 * certificate blob (RSA with SHA-512, as the name sent says).
 */
export function agentCertificateKey(certificate: ParsedCertificate): ParsedKey | undefined {
  if (!install()) return undefined;
  const base = ssh2.utils.parseKey(certificate.publicBlob);
  if (base instanceof Error) return undefined;
  const plain = Array.isArray(base) ? (base as ParsedKey[])[0] : base;
  if (plain === undefined) return undefined;
  return withCertificate(plain, certificate);
}

// A key that presents the certificate: its blob as the public key, the certificate's algorithm name (RSA with
// SHA-512), and, when given, a signer; the agent's keys keep theirs, since the agent signs.
function withCertificate(key: ParsedKey, certificate: ParsedCertificate, sign?: (data: Buffer, hash?: string) => Buffer): ParsedKey {
  const rsa = certificate.keyType === 'ssh-rsa';
  const info: CertInfo = {
    blob: certificate.blob,
    algorithm: rsa ? 'rsa-sha2-512-cert-v01@openssh.com' : certificate.type,
    signatureAlgorithm: rsa ? 'rsa-sha2-512' : certificate.keyType,
    keyType: certificate.keyType,
  };
  const wrapped = Object.create(key) as ParsedKey & { [CERT]: CertInfo };
  Object.defineProperty(wrapped, CERT, { value: info });
  Object.defineProperty(wrapped, 'type', { value: info.algorithm });
  Object.defineProperty(wrapped, 'getPublicSSH', { value: () => certificate.blob });
  if (sign !== undefined) Object.defineProperty(wrapped, 'sign', { value: sign });
  return wrapped;
}

/** For an agent's sign(): the key as the agent must be asked (the certificate blob; RSA with the SHA-512 flag). */
export function agentSignRequest(key: unknown, options: { hash?: string } | undefined): { key: unknown; options: { hash?: string } | undefined } {
  const cert = (key as { [CERT]?: CertInfo } | undefined)?.[CERT];
  if (cert === undefined) return { key, options };
  if (cert.keyType !== 'ssh-rsa') return { key, options };
  const asRsa = Object.create(key as object) as object;
  Object.defineProperty(asRsa, 'type', { value: 'ssh-rsa' });
  return { key: asRsa, options: { ...options, hash: 'sha512' } };
}
