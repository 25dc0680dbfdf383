// Every ssh_config(5) keyword, and what apply-ws-fix does with it. The rule: a keyword that decides the host, port,
// user, keys, route or host-key checking is either applied exactly as ssh applies it, or refused (exit 3, naming file
// and line). Keywords that change none of those (forwardings, terminals, logging, keep-alives…) are ignored.

/** `read`: applied as ssh applies it (src/transport/ssh-config.ts). */
export type KeywordUse =
  | { use: 'read' }
  | { use: 'ignore' }
  /** Refused when its effective value is not one of `allowed` (lowercased); `why` says what ssh would do differently. */
  | { use: 'refuse-unless'; allowed: readonly string[]; why: string };

const READ = { use: 'read' } as const;
const IGNORE = { use: 'ignore' } as const;
const refuseUnless = (allowed: readonly string[], why: string): KeywordUse => ({ use: 'refuse-unless', allowed, why });
const NO = ['no', 'false'];
const YES_NO_DEFAULT_NO = NO;

/** Lowercased keyword → its use. A keyword missing here is unknown: ssh refuses it, and so do we (unless IgnoreUnknown). */
export const KEYWORDS: Readonly<Record<string, KeywordUse>> = {
  host: READ,
  match: READ,
  include: READ,
  hostname: READ,
  user: READ,
  port: READ,
  identityfile: READ,
  certificatefile: READ,
  identitiesonly: READ,
  identityagent: READ,
  proxyjump: READ,
  proxycommand: READ,
  userknownhostsfile: READ,
  globalknownhostsfile: READ,
  hostkeyalias: READ,
  stricthostkeychecking: READ,
  hashknownhosts: READ,
  ignoreunknown: READ,
  ciphers: READ,
  macs: READ,
  kexalgorithms: READ,
  hostkeyalgorithms: READ,
  pubkeyacceptedalgorithms: READ,
  pubkeyacceptedkeytypes: READ,

  // Where ssh connects from, through, or how it finds the address.
  addressfamily: refuseUnless(['any'], 'ssh would use only IPv4 or only IPv6 addresses'),
  bindaddress: refuseUnless([], 'ssh would connect from that local address'),
  bindinterface: refuseUnless([], 'ssh would connect from that local interface'),
  canonicalizehostname: refuseUnless(['no', 'false', 'none'], 'ssh would rewrite the host name (and read the config again for it)'),
  proxyusefdpass: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would take a passed socket from the ProxyCommand'),
  refuseconnection: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would refuse to connect'),
  // How ssh authenticates, or which keys it may offer.
  pubkeyauthentication: refuseUnless(['yes', 'true', 'unbound', 'host-bound'], 'ssh would not offer keys'),
  pkcs11provider: refuseUnless(['none'], 'ssh would offer keys from a PKCS#11 token'),
  hostbasedauthentication: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would also try host-based authentication'),
  // How ssh checks the host's key, or which cryptography it accepts.
  checkhostip: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would also check the address against known_hosts'),
  knownhostscommand: refuseUnless(['none'], 'ssh would get known host keys from a command'),
  revokedhostkeys: refuseUnless(['none'], 'ssh would refuse host keys listed in that revocation file'),
  verifyhostkeydns: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would check host keys against DNS SSHFP records'),
  nohostauthenticationforlocalhost: refuseUnless(YES_NO_DEFAULT_NO, 'ssh would skip the host key check for localhost'),

  // Ignored: they change none of host, port, user, keys, route or host-key checking for the commands we run.
  addkeystoagent: IGNORE,
  batchmode: IGNORE,
  canonicaldomains: IGNORE,
  canonicalizefallbacklocal: IGNORE,
  canonicalizemaxdots: IGNORE,
  canonicalizepermittedcnames: IGNORE,
  casignaturealgorithms: IGNORE,
  channeltimeout: IGNORE,
  challengeresponseauthentication: IGNORE,
  clearallforwardings: IGNORE,
  compression: IGNORE,
  connectionattempts: IGNORE,
  connecttimeout: IGNORE,
  controlmaster: IGNORE,
  controlpath: IGNORE,
  controlpersist: IGNORE,
  dynamicforward: IGNORE,
  enableescapecommandline: IGNORE,
  enablesshkeysign: IGNORE,
  escapechar: IGNORE,
  exitonforwardfailure: IGNORE,
  fingerprinthash: IGNORE,
  forkafterauthentication: IGNORE,
  forwardagent: IGNORE,
  forwardx11: IGNORE,
  forwardx11timeout: IGNORE,
  forwardx11trusted: IGNORE,
  gatewayports: IGNORE,
  gssapiauthentication: IGNORE,
  gssapiclientidentity: IGNORE,
  gssapidelegatecredentials: IGNORE,
  gssapikeyexchange: IGNORE,
  gssapikexalgorithms: IGNORE,
  gssapirenewalforcesrekey: IGNORE,
  gssapiserveridentity: IGNORE,
  gssapitrustdns: IGNORE,
  hostbasedacceptedalgorithms: IGNORE,
  hostbasedkeytypes: IGNORE,
  ipqos: IGNORE,
  kbdinteractiveauthentication: IGNORE,
  kbdinteractivedevices: IGNORE,
  localcommand: IGNORE,
  localforward: IGNORE,
  loglevel: IGNORE,
  logverbose: IGNORE,
  numberofpasswordprompts: IGNORE,
  obscurekeystroketiming: IGNORE,
  passwordauthentication: IGNORE,
  permitlocalcommand: IGNORE,
  permitremoteopen: IGNORE,
  preferredauthentications: IGNORE,
  rekeylimit: IGNORE,
  remotecommand: IGNORE,
  remoteforward: IGNORE,
  requesttty: IGNORE,
  requiredrsasize: IGNORE,
  securitykeyprovider: IGNORE,
  sendenv: IGNORE,
  serveralivecountmax: IGNORE,
  serveraliveinterval: IGNORE,
  sessiontype: IGNORE,
  setenv: IGNORE,
  stdinnull: IGNORE,
  streamlocalbindmask: IGNORE,
  streamlocalbindunlink: IGNORE,
  syslogfacility: IGNORE,
  tag: IGNORE,
  tcpkeepalive: IGNORE,
  tunnel: IGNORE,
  tunneldevice: IGNORE,
  updatehostkeys: IGNORE,
  usekeychain: IGNORE,
  visualhostkey: IGNORE,
  xauthlocation: IGNORE,
  // Deprecated or removed: ssh itself ignores them (with a warning).
  cipher: IGNORE,
  compressionlevel: IGNORE,
  fallbacktorsh: IGNORE,
  globalknownhostsfile2: IGNORE,
  protocol: IGNORE,
  rhostsauthentication: IGNORE,
  rhostsrsaauthentication: IGNORE,
  rsaauthentication: IGNORE,
  userknownhostsfile2: IGNORE,
  useprivilegedport: IGNORE,
  useroaming: IGNORE,
  usersh: IGNORE,
};

/** How ssh_config(5) spells a keyword, for messages. */
export const SPELLING: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'Host', 'Match', 'Include', 'HostName', 'User', 'Port', 'IdentityFile', 'CertificateFile', 'IdentitiesOnly', 'IdentityAgent',
    'ProxyJump', 'ProxyCommand', 'UserKnownHostsFile', 'GlobalKnownHostsFile', 'HostKeyAlias', 'StrictHostKeyChecking',
    'HashKnownHosts', 'IgnoreUnknown', 'AddressFamily', 'BindAddress', 'BindInterface', 'CanonicalizeHostname',
    'ProxyUseFdpass', 'RefuseConnection', 'PubkeyAuthentication', 'PKCS11Provider', 'PubkeyAcceptedAlgorithms',
    'PubkeyAcceptedKeyTypes', 'HostbasedAuthentication', 'CheckHostIP', 'HostKeyAlgorithms', 'KnownHostsCommand',
    'RevokedHostKeys', 'VerifyHostKeyDNS', 'NoHostAuthenticationForLocalhost', 'Ciphers', 'MACs', 'KexAlgorithms',
  ].map((name) => [name.toLowerCase(), name]),
);

export function spelling(keyword: string): string {
  return SPELLING[keyword] ?? keyword;
}
