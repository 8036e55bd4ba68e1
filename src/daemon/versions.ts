/**
 * The libvirt versions the embedded daemon can claim, and what the claim changes on the admin wire. Each trait was
 * observed on the real daemon of that version (Debian 12's libvirtd 9.0.0, Debian 13's 11.3.0); the tests that pin
 * them are listed in docs/libvirt-versions.md. Everything not listed here (defaults, limits, every other error
 * text, the order of checks) is the same in both.
 */

/** The versions `--embedded-version` accepts. */
export const EMBEDDED_VERSIONS = ['9.0.0', '11.3.0'] as const;
export type EmbeddedVersion = (typeof EMBEDDED_VERSIONS)[number];

/**
 * 9.0.0 unless told otherwise: the host libvirt the project is tested on, and the version whose behaviour the
 * embedded daemon was first built against. 11.3.0 is opt-in (it adds CONNECT_DAEMON_SHUTDOWN, which stops the
 * gateway's own daemon).
 */
export const DEFAULT_EMBEDDED_VERSION: EmbeddedVersion = '9.0.0';

/** How str1 of an error names the detail: virerror.c's templates went from `%s` to positional `%1$s`. */
export type ErrorTemplateStyle = 'plain' | 'positional';

/** What differs between the claimed versions. */
export interface VersionTraits {
  /** What CONNECT_GET_LIB_VERSION returns: major·1,000,000 + minor·1,000 + micro. */
  libVersion: number;
  /**
   * str1 of every error with a prefix ("internal error: ", "Server not found: ", ...): `prefix%s` in 9.0.0,
   * `prefix%1$s` in 11.3.0. RPC and system errors keep `%s` in both; the message itself is the same.
   */
  errorTemplates: ErrorTemplateStyle;
  /** SET_CLIENT_LIMITS with nclients_max below nclients_unauth_max: 9.0.0 states the rule backwards, 11.3.0 fixed it. */
  clientLimitsMessage: string;
  /**
   * CONNECT_DAEMON_SHUTDOWN (proc 20, libvirt 11.2.0 on): flags are checked (only PRESERVE), then the daemon closes
   * every connection, the caller's included, without replying, and quits. Before 11.2.0: "unknown procedure: 20".
   */
  daemonShutdown: boolean;
}

/** The traits of each version the embedded daemon can claim. */
export const VERSION_TRAITS: Readonly<Record<EmbeddedVersion, VersionTraits>> = {
  '9.0.0': {
    libVersion: 9_000_000,
    errorTemplates: 'plain',
    clientLimitsMessage:
      'The overall maximum number of clients waiting for authentication must not be less than the overall maximum number of clients',
    daemonShutdown: false,
  },
  '11.3.0': {
    libVersion: 11_003_000,
    errorTemplates: 'positional',
    clientLimitsMessage:
      'The overall maximum number of clients must not be less than the number of clients waiting for authentication',
    daemonShutdown: true,
  },
};

/** True for a version the embedded daemon can claim. */
export function isEmbeddedVersion(value: string): value is EmbeddedVersion {
  return (EMBEDDED_VERSIONS as readonly string[]).includes(value);
}
