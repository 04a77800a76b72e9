// The privacy decision on its own: XEP-0016 §2.1 JID matching, stanza kinds, order, roster items.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, evaluate, parseItems, type CheckedKind, type RosterFacts } from '../../src/modules/privacy/lists.js';
import { parseElement } from '../../src/xmpp/xml/parse.js';
import { parseJID } from '../../src/xmpp/jid.js';
import { StanzaError } from '../../src/xmpp/stanza.js';

const list = (xml: string) => compile(parseItems(parseElement(`<list name='t'>${xml}</list>`)));
const noRoster = async (): Promise<RosterFacts> => ({ subscription: 'none', groups: [] });

async function decide(items: ReturnType<typeof list>, kind: CheckedKind, peer: string, roster = noRoster) {
  return (await evaluate(items, kind, parseJID(peer), roster))?.action ?? 'allow';
}

test('JID items match full JID, bare JID, domain/resource and domain as XEP-0016 §2.1 says', async () => {
  const cases: [string, string, string][] = [
    ['a@x.org/r', 'a@x.org/r', 'deny'],
    ['a@x.org/r', 'a@x.org/s', 'allow'],
    ['a@x.org/r', 'a@x.org', 'allow'],
    ['a@x.org', 'a@x.org/any', 'deny'],
    ['a@x.org', 'b@x.org', 'allow'],
    ['x.org/r', 'b@x.org/r', 'deny'],
    ['x.org/r', 'b@x.org/s', 'allow'],
    ['x.org', 'b@x.org/s', 'deny'],
    ['x.org', 'x.org', 'deny'],
    ['x.org', 'b@y.org', 'allow'],
    ['A@X.ORG', 'a@x.org', 'deny'], // stored prepared
  ];
  for (const [value, peer, expected] of cases) {
    assert.equal(await decide(list(`<item type='jid' value='${value}' action='deny' order='1'/>`), 'message', peer), expected, `${value} vs ${peer}`);
  }
});

test('kinds, order and the fall-through item', async () => {
  const items = list(
    `<item action='allow' order='9'/>` +
      `<item type='jid' value='a@x.org' action='deny' order='2'><presence-in/><message/></item>` +
      `<item type='jid' value='a@x.org' action='allow' order='1'><iq/></item>`,
  );
  assert.equal(await decide(items, 'message', 'a@x.org'), 'deny');
  assert.equal(await decide(items, 'presence-in', 'a@x.org'), 'deny');
  assert.equal(await decide(items, 'iq', 'a@x.org'), 'allow');
  assert.equal(await decide(items, 'presence-out', 'a@x.org'), 'allow');
  // Outgoing messages and subscription presence (`other`) are matched only by items of every kind.
  assert.equal(await decide(items, 'other', 'a@x.org'), 'allow');
  assert.equal(await decide(list(`<item action='deny' order='1'/>`), 'other', 'b@y.org'), 'deny');
  assert.equal(await decide(list(`<item action='deny' order='1'><message/><iq/><presence-in/><presence-out/></item>`), 'other', 'b@y.org'), 'deny');
});

test('group and subscription items read the roster once, and only when reached', async () => {
  let reads = 0;
  const roster = async (): Promise<RosterFacts> => {
    reads++;
    return { subscription: 'to', groups: ['Work'] };
  };
  const items = list(`<item type='jid' value='b@x.org' action='allow' order='1'/><item type='subscription' value='both' action='deny' order='2'/><item type='group' value='Work' action='deny' order='3'/>`);
  assert.equal(await decide(items, 'message', 'b@x.org', roster), 'allow');
  assert.equal(reads, 0);
  assert.equal(await decide(items, 'message', 'a@x.org', roster), 'deny');
  assert.equal(reads, 1);
  // Not in the roster: subscription none.
  assert.equal(await decide(list(`<item type='subscription' value='none' action='deny' order='1'/>`), 'iq', 'c@x.org'), 'deny');
});

test('bad items are bad-request', () => {
  for (const bad of [
    `<item action='deny'/>`,
    `<item action='deny' order='x'/>`,
    `<item action='deny' order='4294967296'/>`,
    `<item action='block' order='1'/>`,
    `<item type='jid' action='deny' order='1'/>`,
    `<item value='a' action='deny' order='1'/>`,
    `<item type='jid' value='a@b@c' action='deny' order='1'/>`,
    `<item type='subscription' value='some' action='deny' order='1'/>`,
    `<item type='colour' value='red' action='deny' order='1'/>`,
    `<item action='deny' order='1'><chat/></item>`,
    `<item action='deny' order='1'/><item action='allow' order='1'/>`,
    `<other/>`,
  ]) {
    assert.throws(() => parseItems(parseElement(`<list name='t'>${bad}</list>`)), (e: unknown) => e instanceof StanzaError && e.condition === 'bad-request', bad);
  }
});
