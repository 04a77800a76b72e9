/** Remote addresses as the rest of the server sees them: IPv4-mapped IPv6 written as plain IPv4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Whether a (normalized) address is on this machine. */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}
