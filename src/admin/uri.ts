import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, InvalidArgumentError } from '../rpc/errors.js';

/** Where an admin URI leads: which daemon, system or session, and the socket path. */
export interface AdminEndpoint {
  /** The URI as given. */
  uri: string;
  /** The daemon name from the scheme (`libvirtd`, `virtqemud`, ...); empty when `?socket=` came without one. */
  daemon: string;
  /** `system` or `session`, or null when `?socket=` made the path irrelevant. */
  mode: 'system' | 'session' | null;
  socketPath: string;
}

/** The environment variables that affect session socket paths (glib's g_get_user_runtime_dir). */
export interface UriEnvironment {
  XDG_RUNTIME_DIR?: string | undefined;
  XDG_CACHE_HOME?: string | undefined;
  HOME?: string | undefined;
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, ErrorCode.INVALID_URI);
}

/** Socket file name for a daemon: libvirtd's is `libvirt-admin-sock`, the others' `<name>-admin-sock`. */
export function adminSocketName(daemon: string): string {
  return daemon === 'libvirtd' ? 'libvirt-admin-sock' : `${daemon}-admin-sock`;
}

/**
 * Resolve an admin URI exactly as libvirt-admin does (src/libvirt-admin.c, getSocketPath): `?socket=` wins and
 * skips every other check; otherwise the scheme must be `libvirtd` or start with `virt`, and the path must be
 * `/system` or `/session`. The host part is ignored, as in libvirt. The messages are libvirt's, with the prefix
 * its error code adds (VIR_ERR_CONFIG_UNSUPPORTED, or VIR_ERR_INTERNAL_ERROR for a parse failure).
 */
export function resolveAdminUri(uri: string, env: UriEnvironment = process.env): AdminEndpoint {
  const parsed = parseUri(uri);
  if (!parsed) throw invalid(`internal error: Unable to parse URI ${uri}`);
  let socket: string | undefined;
  for (const [name, value] of queryParams(parsed.query)) {
    if (name === 'socket') socket = value;
    else throw invalid(`unsupported configuration: Unknown URI parameter '${name}'`);
  }
  const mode = modeOf(parsed.path);
  if (socket !== undefined) return { uri, daemon: parsed.scheme ?? '', mode, socketPath: socket };
  const scheme = parsed.scheme;
  if (scheme === null) throw invalid('unsupported configuration: No URI scheme specified');
  if (scheme !== 'libvirtd' && !scheme.startsWith('virt')) {
    throw invalid(`unsupported configuration: Unsupported URI scheme '${scheme}'`);
  }
  const file = adminSocketName(scheme);
  if (mode === 'system') return { uri, daemon: scheme, mode, socketPath: join('/run/libvirt', file) };
  if (mode === 'session') return { uri, daemon: scheme, mode, socketPath: join(userRuntimeDir(env), 'libvirt', file) };
  throw invalid(`unsupported configuration: Invalid URI path '${parsed.path}', try '/system'`);
}

function modeOf(path: string): 'system' | 'session' | null {
  return path === '/system' ? 'system' : path === '/session' ? 'session' : null;
}

// glib's g_get_user_runtime_dir falls back to the cache dir, which falls back to ~/.cache.
function userRuntimeDir(env: UriEnvironment): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME;
  return join(env.HOME || homedir(), '.cache');
}

interface ParsedUri {
  scheme: string | null;
  /** Percent-decoded, not normalised. */
  path: string;
  /** Raw query, still escaped. */
  query: string;
}

// libvirt parses URIs with libxml2's RFC 3986 parser, not WHATWG URL: the scheme keeps its case, the path is
// percent-decoded but its dot segments stay, and characters outside RFC 3986 (blanks, `"`, `|`, non-ASCII) fail.
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const AUTHORITY_WITH_IP_LITERAL = /^(?:[^@[\]]*@)?\[[^[\]]*\](?::[0-9]*)?$/;

function parseUri(uri: string): ParsedUri | null {
  if (!URI_CHARS.test(uri) || BAD_ESCAPE.test(uri)) return null;
  let rest = uri;
  const scheme = SCHEME.exec(rest)?.[0].slice(0, -1) ?? null;
  if (scheme !== null) rest = rest.slice(scheme.length + 1);
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (/[#[\]]/.test(rest.slice(hash + 1))) return null;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  const query = question >= 0 ? rest.slice(question + 1) : '';
  if (question >= 0) rest = rest.slice(0, question);
  if (/[[\]]/.test(query)) return null;
  let path = rest;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    if (/[[\]]/.test(authority) && !AUTHORITY_WITH_IP_LITERAL.test(authority)) return null;
    path = slash >= 0 ? rest.slice(slash) : '';
  }
  if (/[[\]]/.test(path)) return null;
  // Without a scheme, a colon in the first segment makes the reference invalid (RFC 3986 §4.2).
  if (scheme === null && !rest.startsWith('//') && (path.split('/')[0] ?? '').includes(':')) return null;
  return { scheme, path: unescape(path), query };
}

/** The query's parameters as virURIParseParams reads them: `&` separates (`;` only when no `&` is left). */
function queryParams(query: string): [string, string][] {
  const params: [string, string][] = [];
  let rest = query;
  while (rest.length > 0) {
    let end = rest.indexOf('&');
    if (end < 0) end = rest.indexOf(';');
    if (end < 0) end = rest.length;
    const part = rest.slice(0, end);
    const eq = part.indexOf('=');
    const name = unescape(eq >= 0 ? part.slice(0, eq) : part);
    // A nameless part ("&&", "=x") is skipped, as libvirt does.
    if (name !== '') params.push([name, eq >= 0 ? unescape(part.slice(eq + 1)) : '']);
    rest = rest.slice(end + 1);
  }
  return params;
}

/** Percent-decoding into bytes read as UTF-8; libvirt's C strings end at a decoded NUL. `+` stays a `+`. */
function unescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(s.charCodeAt(i));
    }
  }
  const buf = Buffer.from(bytes);
  const nul = buf.indexOf(0);
  return (nul >= 0 ? buf.subarray(0, nul) : buf).toString('utf8');
}
