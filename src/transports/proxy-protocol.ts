/**
 * The PROXY protocol header (HAProxy, versions 1 and 2) that a trusted load balancer puts in front of
 * a connection to tell the server the client's real address. Parsed strictly: anything that is not a
 * well-formed header is an error and the connection is closed.
 * https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
 */
import { isIPv4, isIPv6 } from 'node:net';
import { normalizeIp } from './address.js';

/** The source the proxy reports, or none (v1 UNKNOWN, v2 LOCAL or a non-TCP family): use the connection's own. */
export interface ProxyHeader {
  source?: { address: string; port: number };
  /** Bytes the header took; what follows belongs to the client's stream. */
  length: number;
}

export class ProxyHeaderError extends Error {}

const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX = 107; // including CRLF (spec §2.1)
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Larger v2 headers (many TLVs) are refused; the address part needs at most 36 bytes. */
export const V2_MAX = 16 + 1024;

/** Parses the header at the start of buf; undefined while more bytes are needed. Throws ProxyHeaderError. */
export function parseProxyHeader(buf: Buffer): ProxyHeader | undefined {
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? undefined : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? undefined : parseV1(buf);
  throw new ProxyHeaderError('no PROXY protocol header');
}

/** Whether buf and prefix agree on their common length. */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

const PORT_RE = /^(?:0|[1-9][0-9]{0,4})$/;

function parseV1(buf: Buffer): ProxyHeader | undefined {
  const end = buf.subarray(0, V1_MAX).indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX) throw new ProxyHeaderError('PROXY v1 header too long');
    return undefined;
  }
  const line = buf.subarray(0, end).toString('latin1');
  const parts = line.split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { length }; // the rest of the line is ignored (spec §2.1)
  if (parts.length !== 6) throw new ProxyHeaderError('malformed PROXY v1 header');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const valid = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : undefined;
  if (!valid) throw new ProxyHeaderError('PROXY v1: unknown protocol');
  if (!valid(src) || !valid(dst)) throw new ProxyHeaderError('PROXY v1: bad address');
  if (!PORT_RE.test(sport) || !PORT_RE.test(dport) || Number(sport) > 65535 || Number(dport) > 65535) {
    throw new ProxyHeaderError('PROXY v1: bad port');
  }
  return { source: { address: normalizeIp(src), port: Number(sport) }, length };
}

function parseV2(buf: Buffer): ProxyHeader | undefined {
  if (buf.length < 16) return undefined;
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2) throw new ProxyHeaderError('PROXY v2: bad version');
  if (command > 1) throw new ProxyHeaderError('PROXY v2: bad command');
  const length = 16 + buf.readUInt16BE(14);
  if (length > V2_MAX) throw new ProxyHeaderError('PROXY v2 header too long');
  if (buf.length < length) return undefined;
  if (command === 0) return { length }; // LOCAL: the proxy's own connection (health checks)
  const family = buf[13]!;
  const body = buf.subarray(16, length);
  if (family === 0x11) {
    if (body.length < 12) throw new ProxyHeaderError('PROXY v2: short IPv4 address block');
    return { source: { address: `${body[0]}.${body[1]}.${body[2]}.${body[3]}`, port: body.readUInt16BE(8) }, length };
  }
  if (family === 0x21) {
    if (body.length < 36) throw new ProxyHeaderError('PROXY v2: short IPv6 address block');
    return { source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) }, length };
  }
  // UNSPEC, UDP and UNIX sockets: accepted, and the connection's own address is used (spec §2.2).
  if ([0x00, 0x12, 0x22, 0x31, 0x32].includes(family)) return { length };
  throw new ProxyHeaderError('PROXY v2: bad address family');
}

/** IPv6 in the form Node gives remote addresses (RFC 5952 compression); IPv4-mapped as plain IPv4. */
function ipv6(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
