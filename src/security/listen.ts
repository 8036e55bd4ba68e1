/**
 * Where and how the gateway may listen. Loopback needs nothing; any other address must have TLS and
 * authentication, because the gateway holds a root-equivalent handle on the daemon: anyone who can reach the
 * port could otherwise read client identities and make libvirtd write log files. `--insecure` overrides this,
 * for networks that are protected some other way; it says so in the log at every start.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { SecurityErrorCode } from './errors.js';

/** The security-related listen settings. */
export interface ListenSecurity {
  /** The TCP host the gateway binds (from --listen). */
  host: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsClientCa?: string | undefined;
  tlsClientRoles?: string | undefined;
  tokensFile?: string | undefined;
  insecure: boolean;
}

/** A listen setup that is refused; the message says why and what to do. */
export class UnsafeListenError extends Error {
  override readonly name = 'UnsafeListenError';
  readonly code = SecurityErrorCode.UNSAFE_LISTEN;
}

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped forms) and 'localhost'. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
    return mapped !== undefined && mapped.startsWith('127.');
  }
  return false;
}

/**
 * Checks the combination of listen, TLS and authentication options; throws UnsafeListenError when it is
 * incomplete or unsafe, returns warnings to log otherwise.
 */
export function checkListenSecurity(options: ListenSecurity): string[] {
  const { tlsCert, tlsKey, tlsClientCa, tlsClientRoles, tokensFile } = options;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UnsafeListenError('--tls-cert and --tls-key must be given together');
  }
  if (tlsClientCa !== undefined && tlsCert === undefined) {
    throw new UnsafeListenError('--tls-client-ca needs TLS: give --tls-cert and --tls-key as well');
  }
  if (tlsClientRoles !== undefined && tlsClientCa === undefined) {
    throw new UnsafeListenError('--tls-client-roles needs --tls-client-ca (the CA that verifies client certificates)');
  }
  const tls = tlsCert !== undefined;
  const auth = tokensFile !== undefined || tlsClientCa !== undefined;
  if (isLoopbackHost(options.host) || (tls && auth)) return [];
  const missing = [
    tls ? null : 'TLS (--tls-cert and --tls-key)',
    auth ? null : 'authentication (--tokens-file or --tls-client-ca)',
  ]
    .filter((item) => item !== null)
    .join(' and ');
  if (!options.insecure) {
    throw new UnsafeListenError(
      `refusing to listen on non-loopback address ${options.host} without ${missing}: the gateway can change ` +
        `the settings of a daemon that runs as root, so anyone who can reach this port would control it. ` +
        `Add ${missing}, listen on 127.0.0.1, or pass --insecure if the network is protected in another way.`,
    );
  }
  return [
    `--insecure: listening on ${options.host} without ${missing}; anyone who can reach this port controls the daemon`,
  ];
}

/**
 * The TLS policy of the listener: TLS 1.3, or TLS 1.2 with an ECDHE key exchange and an AEAD cipher. This is
 * Mozilla's "intermediate" configuration (v5.7) without its finite-field DHE suites (slow, and node offers them
 * only with explicit dhparams). Mozilla's "modern" would drop TLS 1.2 altogether, which clients still in use
 * (older curl, Java and Go builds) need. Gone: static-RSA key exchange (no forward secrecy), CBC suites (SHA-1
 * MACs, padding oracles), 3DES, RC4 and everything anonymous or export-grade. OpenSSL names; TLS 1.3 suites
 * start with TLS_ and are listed so that the whole policy is written here, not left to OpenSSL's defaults.
 */
export const TLS_POLICY = {
  MIN_VERSION: 'TLSv1.2',
  /** TLS 1.3 suites (all three of OpenSSL's defaults) and the TLS 1.2 ECDHE + AEAD suites, best first. */
  CIPHERS: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
} as const;

/** The TLS server options for the gateway's listener, read from the configured files. */
export async function loadTlsServerOptions(files: {
  cert: string;
  key: string;
  clientCa?: string | undefined;
}): Promise<TlsOptions & SecureContextOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(files.cert),
    readFile(files.key),
    files.clientCa === undefined ? undefined : readFile(files.clientCa),
  ]);
  return {
    cert,
    key,
    minVersion: TLS_POLICY.MIN_VERSION,
    ciphers: TLS_POLICY.CIPHERS,
    // The server's order wins: a client that lists a weaker suite first still gets the strongest both know.
    honorCipherOrder: true,
    ...(ca === undefined
      ? {}
      : {
          ca,
          // Ask for a certificate and verify it against the CA, but let the handshake finish without one, so
          // that bearer tokens keep working over the same port; the auth hook refuses unverified certificates.
          requestCert: true,
          rejectUnauthorized: false,
        }),
  };
}
