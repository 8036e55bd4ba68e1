/**
 * Identities from mutual-TLS client certificates.
 *
 * With `--tls-client-ca`, the server asks every client for a certificate and verifies it against that CA. A
 * verified certificate names its holder by the subject's common name (CN); the client-roles file
 * (`--tls-client-roles`) gives each CN a role, one `<role> <CN>` per line (the CN is the rest of the line,
 * matched exactly). A verified certificate whose CN is not listed is known but has no role (403 everywhere);
 * an unverified one is refused (401). Roles never come from the certificate itself, so a CA that also signs
 * other certificates cannot grant rights to them by accident.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { ReloadableFile } from './reloadable.js';
import { isRole, type Role } from './roles.js';

/** A client-roles file line is invalid; `message` names the file and the line. */
export class ClientRolesFileError extends Error {
  override readonly name = 'ClientRolesFileError';
}

/** Parses a client-roles file (`<role> <CN>` lines, `#` comments) into CN -> role. */
export function parseClientRolesFile(text: string, source = 'client roles file'): Map<string, Role> {
  const roles = new Map<string, Role>();
  text.split('\n').forEach((rawLine, index) => {
    const where = `${source} line ${index + 1}`;
    const content = rawLine.trim();
    if (content === '' || content.startsWith('#')) return;
    const match = /^(\S+)\s+(.+)$/.exec(content);
    const role = match?.[1] ?? content;
    const cn = match?.[2];
    if (!isRole(role))
      throw new ClientRolesFileError(`${where}: unknown role '${role}' (expected viewer, operator or admin)`);
    if (cn === undefined)
      throw new ClientRolesFileError(`${where}: missing the certificate's common name after the role`);
    if (roles.has(cn)) throw new ClientRolesFileError(`${where}: common name '${cn}' is listed twice`);
    roles.set(cn, role);
  });
  return roles;
}

/** The CN -> role mapping, reloadable on SIGHUP like the tokens file. */
export class ClientRoles extends ReloadableFile<ReadonlyMap<string, Role>> {
  /** Reads and parses the file; throws ConfigFileError. */
  static async load(path: string): Promise<ClientRoles> {
    const parse = parseClientRolesFile;
    return new ClientRoles(
      path,
      'client roles file',
      parse,
      await ReloadableFile.read(path, 'client roles file', parse),
    );
  }

  /** A mapping given directly (tests, or no file: every verified certificate is known but has no role). */
  static fromMap(map: ReadonlyMap<string, Role>, path = '(memory)'): ClientRoles {
    return new ClientRoles(path, 'client roles file', parseClientRolesFile, map);
  }

  /** Number of entries in force. */
  override count(): number {
    return this.current.size;
  }

  /** The role of a common name, or null when it is not listed. */
  roleOf(commonName: string): Role | null {
    return this.current.get(commonName) ?? null;
  }
}

/** What the TLS layer says about the client's certificate. */
export type PeerCertificateStatus =
  | { kind: 'none' }
  | { kind: 'unverified'; reason: string }
  | { kind: 'verified'; commonName: string; subject: string; fingerprint256: string };

/** Reads the client certificate of a TLS socket; 'none' for plain sockets or when the client sent none. */
export function peerCertificateStatus(socket: unknown): PeerCertificateStatus {
  const tls = socket as Partial<TLSSocket> | null;
  if (tls === null || typeof tls.getPeerCertificate !== 'function') return { kind: 'none' };
  const cert = tls.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return { kind: 'none' };
  if (tls.authorized !== true) {
    const reason = tls.authorizationError;
    return { kind: 'unverified', reason: reason instanceof Error ? reason.message : String(reason ?? 'not verified') };
  }
  const commonName = singleCommonName(cert);
  if (commonName === null) return { kind: 'unverified', reason: 'the certificate subject has no single common name' };
  return { kind: 'verified', commonName, subject: formatSubject(cert), fingerprint256: cert.fingerprint256 };
}

// Node gives an array when the subject has several CN attributes; such a subject is ambiguous and refused.
function singleCommonName(cert: PeerCertificate): string | null {
  const cn: unknown = cert.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : null;
}

function formatSubject(cert: PeerCertificate): string {
  return Object.entries(cert.subject ?? {})
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(',');
}
