import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Remote addresses as the rest of the server sees them: IPv4-mapped IPv6 written as plain IPv4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Whether a (normalized) address is on this machine. */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

/** Whether a configured bind address (an address or a host name) is only reachable from this machine. */
export function isLoopbackBind(address: string): boolean {
  return address === 'localhost' || isLoopback(normalizeIp(address));
}

/** Whether s is an address or an address/prefix that `trustedProxies` accepts. */
export function isCidr(s: string): boolean {
  const [addr, prefix, ...rest] = s.split('/');
  const version = isIP(addr ?? '');
  if (!version || rest.length) return false;
  if (prefix === undefined) return true;
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** The configured `trustedProxies`: the load balancers whose PROXY headers and X-Forwarded-For are believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    this.empty = cidrs.length === 0;
    for (const c of cidrs) {
      const [addr, prefix] = c.split('/') as [string, string | undefined];
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(prefix), type);
    }
  }

  has(ip: string): boolean {
    if (this.empty) return false;
    const version = isIP(ip);
    return version !== 0 && this.list.check(ip, version === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client of a request: its peer, or when the peer is a trusted proxy, the rightmost X-Forwarded-For
   * address that is not itself a trusted proxy (the ones to its left could be made up by the client).
   * An entry that is not an address stops the walk: the proxy's own address is used.
   */
  clientOf(peer: string, forwardedFor: string | string[] | undefined): string {
    if (!this.has(peer) || forwardedFor === undefined) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeIp(stripPort(hops[i]!.trim()));
      if (!isIP(hop)) return peer;
      if (!this.has(hop)) return hop;
    }
    return peer;
  }
}

/** `1.2.3.4:80` and `[::1]:80` as some proxies write them. */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) return hop.slice(1, hop.indexOf(']') >>> 0);
  const colon = hop.indexOf(':');
  return colon > 0 && hop.indexOf(':', colon + 1) < 0 ? hop.slice(0, colon) : hop;
}

const cache = new WeakMap<readonly string[], TrustedProxies>();

/** The TrustedProxies of a configuration, built once. */
export function trustedProxiesOf(config: { trustedProxies: readonly string[] }): TrustedProxies {
  let t = cache.get(config.trustedProxies);
  if (!t) cache.set(config.trustedProxies, (t = new TrustedProxies(config.trustedProxies)));
  return t;
}

/**
 * Whether a trusted proxy says that it received the request over TLS (`X-Forwarded-Proto: https`, the
 * value it appended last): a WebSocket that the proxy decrypted counts as encrypted, as it does for ejabberd.
 */
export function forwardedOverTls(server: { config: { trustedProxies: readonly string[] } }, req: IncomingMessage): boolean {
  const proto = req.headers['x-forwarded-proto'];
  if (proto === undefined || !trustedProxiesOf(server.config).has(normalizeIp(req.socket.remoteAddress ?? ''))) return false;
  const last = (Array.isArray(proto) ? proto.join(',') : proto).split(',').pop()!.trim().toLowerCase();
  return last === 'https' || last === 'wss';
}

/** The address an HTTP request comes from, as every per-address limit and permission sees it. */
export function clientAddress(server: { config: { trustedProxies: readonly string[] } }, req: IncomingMessage): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? '');
  return trustedProxiesOf(server.config).clientOf(peer, req.headers['x-forwarded-for']);
}
