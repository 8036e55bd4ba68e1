/**
 * DNS rebinding: a web page at `http://evil.example:8080` whose name the attacker then points at 127.0.0.1 (or
 * at the gateway's address) is, for the browser, still evil.example: its script may send requests there and
 * read the answers, and they reach the gateway with `Host: evil.example:8080`. The gateway therefore serves
 * only requests whose Host names it: loopback names and addresses, the addresses it listens on (every interface
 * address of the host for a wildcard listener: Kubernetes probes and scrapes come by pod IP), and the names an
 * operator configures (`--allowed-host`, e.g. a Service's DNS name or a load balancer's name).
 *
 * The port in Host is not compared: rebinding varies the name, not the port, and a port forward (kubectl
 * port-forward, ssh -L, NAT) legitimately changes it. A request without Host (HTTP/1.0) names nothing and is
 * served; node refuses HTTP/1.1 without one.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { hostNotAllowedError } from './errors.js';

/** Names every gateway answers to (besides its own addresses). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** At most one re-read of the interface addresses per this many milliseconds (only when a Host is unknown). */
export const INTERFACE_REFRESH_MS = 5_000;

/** A configured name that cannot be a host name or address; the message says why. */
export class AllowedHostError extends Error {
  override readonly name = 'AllowedHostError';
}

/**
 * The host of a Host header, lower-cased, IPv6 without brackets and in its canonical form; null when the value
 * is not `host[:port]` (a host name, an IPv4 address, or a bracketed IPv6 address).
 */
export function hostOfHeader(value: string): string | null {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed !== null) return canonicalIp(bracketed[1]!);
  const plain = /^([A-Za-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(value);
  if (plain === null) return null;
  return plain[1]!.toLowerCase();
}

/** Parses one `--allowed-host` value: a name, `*.domain` (any name under domain), or an IP address. */
export function parseAllowedHost(value: string): string {
  const trimmed = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(trimmed) !== 0) return canonicalIp(trimmed)!;
  const name = trimmed.toLowerCase().replace(/\.$/, '');
  if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name) || name.length > 253) {
    throw new AllowedHostError(`--allowed-host ${JSON.stringify(value)} is not a host name, *.domain or IP address`);
  }
  return name;
}

/** Where the interface addresses come from (os.networkInterfaces, or a fixed list in tests). */
export type InterfaceAddresses = () => string[];

/** Options of a HostAllowlist. */
export interface HostAllowlistOptions {
  /** The host the gateway's TCP listener binds (`--listen`); a wildcard adds every interface address. */
  listenHost?: string;
  /** Configured names (`--allowed-host`), already parsed or raw. */
  allowed?: readonly string[];
  /** The host's interface addresses (default: os.networkInterfaces()). */
  interfaces?: InterfaceAddresses;
  /** Clock for the refresh limit (default Date.now). */
  now?: () => number;
}

/** Decides whether a Host header names this gateway. */
export class HostAllowlist {
  private readonly fixed = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly wildcard: boolean;
  private readonly interfaces: InterfaceAddresses;
  private readonly now: () => number;
  private interfaceSet = new Set<string>();
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(options: HostAllowlistOptions = {}) {
    for (const host of LOOPBACK_HOSTS) this.fixed.add(host);
    for (const raw of options.allowed ?? []) {
      const host = parseAllowedHost(raw);
      if (host.startsWith('*.')) this.suffixes.push(host.slice(1));
      else this.fixed.add(host);
    }
    const listen = options.listenHost === undefined ? undefined : options.listenHost.replace(/^\[(.*)\]$/, '$1');
    this.wildcard = listen === '0.0.0.0' || listen === '::' || listen === '';
    if (listen !== undefined && !this.wildcard)
      this.fixed.add(isIP(listen) === 0 ? listen.toLowerCase() : canonicalIp(listen)!);
    this.interfaces = options.interfaces ?? osInterfaceAddresses;
    this.now = options.now ?? Date.now;
  }

  /** True when the Host header value (undefined: none sent) names this gateway. */
  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return true;
    const host = hostOfHeader(hostHeader);
    if (host === null) return false;
    if (this.fixed.has(host) || this.suffixes.some((suffix) => host.endsWith(suffix))) return true;
    if (host.startsWith('127.') && isIP(host) === 4) return true;
    if (!this.wildcard || isIP(host) === 0) return false;
    if (this.interfaceSet.has(host)) return true;
    // An address we have not seen: the interfaces may have changed (DHCP, a new pod IP); look again, not too often.
    if (this.now() - this.readAt < INTERFACE_REFRESH_MS) return false;
    this.readAt = this.now();
    // Host cannot name an IPv6 zone (fe80::1%eth0): compare without it.
    this.interfaceSet = new Set(
      this.interfaces().map((address) => canonicalIp(address.replace(/%.*$/, '')) ?? address),
    );
    return this.interfaceSet.has(host);
  }

  /** Throws hostNotAllowedError() unless allows(hostHeader). */
  check(hostHeader: string | undefined): void {
    if (!this.allows(hostHeader)) throw hostNotAllowedError(hostHeader ?? '');
  }
}

/** Every address of the host's interfaces. */
export function osInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((info) => info.address);
}

/** An IP address in the form browsers put in Host (WHATWG URL serialisation); null when not an IP. */
function canonicalIp(address: string): string | null {
  const kind = isIP(address);
  if (kind === 4) return address;
  if (kind !== 6) return null;
  return new URL(`http://[${address}]/`).hostname.replace(/^\[(.*)\]$/, '$1');
}
