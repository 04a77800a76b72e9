import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateOf, applyState, nextState, transition, type State } from '../../src/modules/presence/subscription.js';

const STATES: State[] = ['None', 'None+PendingOut', 'None+PendingIn', 'None+PendingOut+PendingIn', 'To', 'To+PendingIn', 'From', 'From+PendingOut', 'Both'];

test('each of the nine states of RFC 6121 A.1 is read back from the roster item it is written to', () => {
  for (const s of STATES) {
    const item = { subscription: 'none' as const, askOut: false, pendingIn: false } as { subscription: any; askOut: boolean; pendingIn: boolean };
    applyState(item, s);
    assert.equal(stateOf(item), s);
  }
  assert.equal(stateOf(undefined), 'None');
});

test('a full round of subscription stanzas moves both sides through the states of Appendix A', () => {
  // Romeo (user) asks Juliet (contact); she approves; then she also subscribes and he approves; then both cancel.
  const romeo = { subscription: 'none' as any, askOut: false, pendingIn: false };
  const juliet = { subscription: 'none' as any, askOut: false, pendingIn: false };
  assert.ok(transition(romeo, 'outbound', 'subscribe'));
  assert.ok(transition(juliet, 'inbound', 'subscribe'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['None+PendingOut', 'None+PendingIn']);
  assert.ok(transition(juliet, 'outbound', 'subscribed'));
  assert.ok(transition(romeo, 'inbound', 'subscribed'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['To', 'From']);
  assert.ok(transition(juliet, 'outbound', 'subscribe'));
  assert.ok(transition(romeo, 'inbound', 'subscribe'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['To+PendingIn', 'From+PendingOut']);
  assert.ok(transition(romeo, 'outbound', 'subscribed'));
  assert.ok(transition(juliet, 'inbound', 'subscribed'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['Both', 'Both']);
  assert.ok(transition(romeo, 'outbound', 'unsubscribe'));
  assert.ok(transition(juliet, 'inbound', 'unsubscribe'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['From', 'To']);
  assert.ok(transition(romeo, 'outbound', 'unsubscribed'));
  assert.ok(transition(juliet, 'inbound', 'unsubscribed'));
  assert.deepEqual([stateOf(romeo), stateOf(juliet)], ['None', 'None']);
});

test('stanzas that Appendix A marks "no state change" change nothing (and are not delivered inbound)', () => {
  // A repeated request, a cancellation of nothing, an answer nobody asked for.
  assert.equal(nextState('inbound', 'subscribe', 'None+PendingIn'), undefined);
  assert.equal(nextState('inbound', 'subscribe', 'Both'), undefined);
  assert.equal(nextState('inbound', 'unsubscribe', 'None'), undefined);
  assert.equal(nextState('inbound', 'subscribed', 'None'), undefined);
  assert.equal(nextState('outbound', 'subscribed', 'Both'), undefined);
  assert.equal(nextState('outbound', 'unsubscribed', 'To'), undefined);
  const item = { subscription: 'both' as any, askOut: false, pendingIn: false };
  assert.equal(transition(item, 'outbound', 'subscribe'), false);
  assert.equal(stateOf(item), 'Both');
});
