import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, InvalidArgumentError } from '../rpc/errors.js';

/** Where an admin URI leads: which daemon, system or session, and the socket path. */
export interface AdminEndpoint {
  /** The URI as given. */
  uri: string;
  /** The daemon name from the scheme (`libvirtd`, `virtqemud`, ...). */
  daemon: string;
  /** `system` or `session`, or null when `?socket=` made the path irrelevant. */
  mode: 'system' | 'session' | null;
  socketPath: string;
}

/** The environment variables that affect session socket paths. */
export interface UriEnvironment {
  XDG_RUNTIME_DIR?: string | undefined;
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
 * `/system` or `/session`. The host part is ignored, as in libvirt.
 */
export function resolveAdminUri(uri: string, env: UriEnvironment = process.env): AdminEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw invalid(`Unable to parse URI ${uri}`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  let socket: string | undefined;
  for (const [name, value] of parsed.searchParams) {
    if (name === 'socket') socket = value;
    else throw invalid(`unsupported configuration: Unknown URI parameter '${name}'`);
  }
  if (socket !== undefined) {
    return { uri, daemon: scheme, mode: modeOf(parsed.pathname), socketPath: socket };
  }
  if (scheme !== 'libvirtd' && !scheme.startsWith('virt')) throw invalid(`Unsupported URI scheme '${scheme}'`);
  const file = adminSocketName(scheme);
  const mode = modeOf(parsed.pathname);
  if (mode === 'system') return { uri, daemon: scheme, mode, socketPath: join('/run/libvirt', file) };
  if (mode === 'session') {
    const base = env.XDG_RUNTIME_DIR ? env.XDG_RUNTIME_DIR : join(env.HOME ?? homedir(), '.cache');
    return { uri, daemon: scheme, mode, socketPath: join(base, 'libvirt', file) };
  }
  throw invalid(`Invalid URI path '${parsed.pathname}', try '/system'`);
}

function modeOf(path: string): 'system' | 'session' | null {
  return path === '/system' ? 'system' : path === '/session' ? 'session' : null;
}
