import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, ProxyHeaderError, V2_MAX } from '../../src/transports/proxy-protocol.js';
import { TrustedProxies, isCidr } from '../../src/transports/address.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: command (0 LOCAL, 1 PROXY), family byte, address block. */
function v2(command: number, family: number, block: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(block.length, 2);
  return Buffer.concat([SIG, head, block]);
}

function v4block(src: string, sport: number): Buffer {
  const b = Buffer.alloc(12);
  src.split('.').forEach((x, i) => (b[i] = Number(x)));
  b.set([10, 0, 0, 1], 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(5222, 10);
  return b;
}

test('PROXY v1: TCP4, TCP6 and UNKNOWN; the length covers the CRLF; what follows is left alone', () => {
  const h = Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 40000 5222\r\n<stream:stream>');
  assert.deepEqual(parseProxyHeader(h), { source: { address: '192.0.2.7', port: 40000 }, length: 42 });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 1 5222\r\n')), {
    source: { address: '2001:db8::7', port: 1 },
    length: 43,
  });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\n')), { length: 24 });
});

test('PROXY v1: incomplete headers wait for more bytes; anything malformed is an error', () => {
  for (const partial of ['', 'P', 'PROXY', 'PROXY TCP4 192.0.2.7 10.0.0.1 40000 5222', 'PROXY TCP4 192.0.2.7 10.0.0.1 40000 5222\r']) {
    assert.equal(parseProxyHeader(Buffer.from(partial)), undefined, JSON.stringify(partial));
  }
  const bad = [
    '<stream:stream',
    'GET / HTTP/1.1\r\n',
    'PROXY TCP4 192.0.2.7 10.0.0.1 40000\r\n',
    'PROXY TCP5 192.0.2.7 10.0.0.1 40000 5222\r\n',
    'PROXY TCP4 2001:db8::7 10.0.0.1 40000 5222\r\n',
    'PROXY TCP4 192.0.2.300 10.0.0.1 40000 5222\r\n',
    'PROXY TCP4 192.0.2.7 10.0.0.1 65536 5222\r\n',
    'PROXY TCP4 192.0.2.7 10.0.0.1 0400 5222\r\n',
    'PROXY TCP4 192.0.2.7  10.0.0.1 40000 5222\r\n',
    'PROXY TCP4 ' + 'x'.repeat(120),
  ];
  for (const b of bad) assert.throws(() => parseProxyHeader(Buffer.from(b)), ProxyHeaderError, JSON.stringify(b));
});

test('PROXY v2: IPv4, IPv6 (compressed as Node writes it, mapped IPv4 as IPv4), LOCAL, TLVs, bounds', () => {
  assert.deepEqual(parseProxyHeader(v2(1, 0x11, v4block('198.51.100.9', 4242))), { source: { address: '198.51.100.9', port: 4242 }, length: 28 });
  const six = Buffer.alloc(36);
  six.set([0x20, 0x01, 0x0d, 0xb8], 0);
  six[15] = 7;
  six.writeUInt16BE(777, 32);
  assert.deepEqual(parseProxyHeader(v2(1, 0x21, six)), { source: { address: '2001:db8::7', port: 777 }, length: 52 });
  const mapped = Buffer.alloc(36);
  mapped.set([0xff, 0xff, 192, 0, 2, 1], 10);
  assert.equal(parseProxyHeader(v2(1, 0x21, mapped))!.source!.address, '192.0.2.1');
  // LOCAL (a health check of the proxy) and TLVs after the addresses.
  assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), { length: 16 });
  const withTlv = Buffer.concat([v4block('192.0.2.8', 1), Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb])]);
  assert.deepEqual(parseProxyHeader(v2(1, 0x11, withTlv)), { source: { address: '192.0.2.8', port: 1 }, length: 33 });
  // Byte by byte: undefined until the last byte.
  const full = v2(1, 0x11, v4block('192.0.2.9', 2));
  for (let i = 0; i < full.length; i++) assert.equal(parseProxyHeader(full.subarray(0, i)), undefined, `prefix ${i}`);
  // Malformed: version, command, family, short blocks, too long.
  const badVersion = Buffer.from(full);
  badVersion[12] = 0x11;
  const badCommand = Buffer.from(full);
  badCommand[12] = 0x22;
  const badFamily = v2(1, 0x41, v4block('192.0.2.9', 2));
  const short4 = v2(1, 0x11, Buffer.alloc(8));
  const short6 = v2(1, 0x21, Buffer.alloc(20));
  const huge = Buffer.concat([SIG, Buffer.from([0x21, 0x11, ((V2_MAX - 15) >> 8) & 0xff, (V2_MAX - 15) & 0xff])]);
  for (const [name, b] of Object.entries({ badVersion, badCommand, badFamily, short4, short6, huge })) {
    assert.throws(() => parseProxyHeader(b), ProxyHeaderError, name);
  }
});

test('trustedProxies: addresses and CIDR blocks; X-Forwarded-For gives the rightmost untrusted hop', () => {
  assert.ok(isCidr('10.0.0.0/8') && isCidr('127.0.0.1') && isCidr('::1/128') && isCidr('2001:db8::/32'));
  assert.ok(!isCidr('10.0.0.0/33') && !isCidr('example.com') && !isCidr('10.0.0.0/8/1') && !isCidr('10.0.0.0/x'));
  const t = new TrustedProxies(['10.0.0.0/8', '127.0.0.2', '2001:db8::/32']);
  assert.ok(t.has('10.1.2.3') && t.has('127.0.0.2') && t.has('2001:db8::5'));
  assert.ok(!t.has('127.0.0.1') && !t.has('11.0.0.1') && !t.has('not an address'));
  // An untrusted peer's header is ignored.
  assert.equal(t.clientOf('192.0.2.1', '198.51.100.1'), '192.0.2.1');
  // The client may have put anything on the left; the rightmost hop not trusted is the client.
  assert.equal(t.clientOf('127.0.0.2', '6.6.6.6, 198.51.100.1'), '198.51.100.1');
  assert.equal(t.clientOf('127.0.0.2', '6.6.6.6, 198.51.100.1, 10.0.0.5'), '198.51.100.1');
  assert.equal(t.clientOf('127.0.0.2', ['6.6.6.6', '198.51.100.1:4321']), '198.51.100.1');
  assert.equal(t.clientOf('127.0.0.2', '[2001:db9::1]:80'), '2001:db9::1');
  assert.equal(t.clientOf('127.0.0.2', '::ffff:198.51.100.2'), '198.51.100.2');
  // No header, all hops trusted, or garbage: the proxy's own address.
  assert.equal(t.clientOf('127.0.0.2', undefined), '127.0.0.2');
  assert.equal(t.clientOf('127.0.0.2', '10.0.0.1'), '127.0.0.2');
  assert.equal(t.clientOf('127.0.0.2', 'unknown'), '127.0.0.2');
  assert.equal(new TrustedProxies([]).clientOf('127.0.0.2', '198.51.100.1'), '127.0.0.2');
});
