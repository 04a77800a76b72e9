// Entity capabilities (XEP-0115): the verification string and hash of §5 on the specification's own
// examples (§5.2 simple, §5.3 with an extended form), the results §5.4 refuses, and the bounded cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseElement } from '../../src/xmpp/xml/parse.js';
import { capsClaim, capsVer, CapsCache, verificationString } from '../../src/modules/pep/caps.js';

const SIMPLE = `<query xmlns='http://jabber.org/protocol/disco#info' node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>
  <identity category='client' name='Exodus 0.9.1' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
</query>`;

const COMPLEX = `<query xmlns='http://jabber.org/protocol/disco#info' node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
  <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
  <x xmlns='jabber:x:data' type='result'>
    <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
    <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
    <field var='os'><value>Mac</value></field>
    <field var='os_version'><value>10.5.1</value></field>
    <field var='software'><value>Psi</value></field>
    <field var='software_version'><value>0.11</value></field>
  </x>
</query>`;

test('XEP-0115 §5.2: the simple example hashes to its ver', () => {
  const q = parseElement(SIMPLE);
  assert.equal(
    verificationString(q),
    'client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<',
  );
  assert.equal(capsVer(q, 'sha-1'), 'QgayPKawpkPSDYmwT/WM94uAlu0=');
});

test('XEP-0115 §5.3: the complex example (languages, an extended form) hashes to its ver', () => {
  assert.equal(capsVer(parseElement(COMPLEX), 'sha-1'), 'q07IKJEyjvHSyhy//CH0CxmKi8w=');
});

test('XEP-0115 §5.4: duplicate features or identities, or two FORM_TYPEs, are not used; unknown hashes are not computed', () => {
  const dup = parseElement(SIMPLE.replace("<feature var='http://jabber.org/protocol/muc'/>", "<feature var='http://jabber.org/protocol/muc'/><feature var='http://jabber.org/protocol/muc'/>"));
  assert.equal(capsVer(dup, 'sha-1'), undefined);
  const twoTypes = parseElement(COMPLEX.replace('<value>urn:xmpp:dataforms:softwareinfo</value>', '<value>a</value><value>b</value>'));
  assert.equal(capsVer(twoTypes, 'sha-1'), undefined);
  assert.equal(capsVer(parseElement(SIMPLE), 'md5'), undefined);
});

test('caps claims of a presence; the cache keeps the most recently used entries', () => {
  const p = parseElement("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>");
  assert.deepEqual(capsClaim(p), { key: 'sha-1 v', node: 'n', ver: 'v', hash: 'sha-1' });
  assert.equal(capsClaim(parseElement("<presence><c xmlns='http://jabber.org/protocol/caps' node='n' ver='v' ext='a'/></presence>"))?.hash, undefined, 'legacy');
  assert.equal(capsClaim(parseElement('<presence/>')), undefined);
  const cache = new CapsCache(() => 2);
  cache.set('a', new Set(['1']));
  cache.set('b', new Set(['2']));
  assert.ok(cache.get('a'));
  cache.set('c', new Set(['3']));
  assert.equal(cache.get('b'), undefined, 'the least recently used went');
  assert.ok(cache.get('a') && cache.get('c'));
  assert.equal(cache.size, 2);
});
