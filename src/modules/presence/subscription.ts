/**
 * The subscription state machine of RFC 6121 Appendix A, as its tables: for each presence
 * subscription type, handled on the way out (the user's server, A.2) or on the way in (the
 * contact's server, A.3), the state a roster item moves to. A missing entry is the RFC's "no
 * state change". Pre-approval (§3.4) is not a subscription state and stays with the caller.
 */
import type { RosterItem, Subscription } from '../roster/index.js';

export type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';
export type Direction = 'outbound' | 'inbound';

/** The nine states of Appendix A.1. */
export type State =
  | 'None'
  | 'None+PendingOut'
  | 'None+PendingIn'
  | 'None+PendingOut+PendingIn'
  | 'To'
  | 'To+PendingIn'
  | 'From'
  | 'From+PendingOut'
  | 'Both';

type Table = Readonly<Record<SubscriptionType, Partial<Record<State, State>>>>;

/**
 * Cancelling a subscription moves the item the same way on both sides: the user's outbound
 * `unsubscribe` (A.2.2) and the contact's inbound `unsubscribed` (A.3.4) end the user's subscription
 * to the contact ('to', or a pending request out); the user's `unsubscribed` (A.2.4) and the
 * contact's `unsubscribe` (A.3.2) end the contact's subscription to the user ('from', or a pending
 * request in).
 */
const ENDS_TO: Partial<Record<State, State>> = {
    'None+PendingOut': 'None',
    'None+PendingOut+PendingIn': 'None+PendingIn',
    To: 'None',
    'To+PendingIn': 'None+PendingIn',
    'From+PendingOut': 'From',
    Both: 'From',
  };
const ENDS_FROM: Partial<Record<State, State>> = {
    'None+PendingIn': 'None',
    'None+PendingOut+PendingIn': 'None+PendingOut',
    'To+PendingIn': 'To',
    From: 'None',
    'From+PendingOut': 'None+PendingOut',
    Both: 'To',
  };

/** A.2: the user's server handles a subscription stanza its user sent. */
const OUTBOUND: Table = {
  subscribe: {
    None: 'None+PendingOut',
    'None+PendingIn': 'None+PendingOut+PendingIn',
    From: 'From+PendingOut',
  },
  unsubscribe: ENDS_TO,
  subscribed: {
    'None+PendingIn': 'From',
    'None+PendingOut+PendingIn': 'From+PendingOut',
    'To+PendingIn': 'Both',
  },
  unsubscribed: ENDS_FROM,
};

/** A.3: the contact's server handles a subscription stanza addressed to its user. */
const INBOUND: Table = {
  subscribe: {
    None: 'None+PendingIn',
    'None+PendingOut': 'None+PendingOut+PendingIn',
    To: 'To+PendingIn',
  },
  unsubscribe: ENDS_FROM,
  subscribed: {
    'None+PendingOut': 'To',
    'None+PendingOut+PendingIn': 'To+PendingIn',
    'From+PendingOut': 'Both',
  },
  unsubscribed: ENDS_TO,
};

const TABLES: Readonly<Record<Direction, Table>> = { outbound: OUTBOUND, inbound: INBOUND };

/** The Appendix A state of a roster item (absent: None). */
export function stateOf(item: Pick<RosterItem, 'subscription' | 'askOut' | 'pendingIn'> | undefined): State {
  if (!item) return 'None';
  const out = item.askOut ? '+PendingOut' : '';
  const inb = item.pendingIn ? '+PendingIn' : '';
  switch (item.subscription) {
    case 'both':
      return 'Both';
    case 'to':
      return `To${inb}` as State;
    case 'from':
      return `From${out}` as State;
    default:
      return `None${out}${inb}` as State;
  }
}

/** The state Appendix A moves `from` to, or undefined for "no state change". */
export function nextState(direction: Direction, type: SubscriptionType, from: State): State | undefined {
  return TABLES[direction][type][from];
}

/** Writes a state into the item's fields. */
export function applyState(item: Pick<RosterItem, 'subscription' | 'askOut' | 'pendingIn'>, state: State): void {
  const [base] = state.split('+') as [string];
  item.subscription = base.toLowerCase() as Subscription;
  item.askOut = state.includes('PendingOut');
  item.pendingIn = state.includes('PendingIn');
}

/**
 * Moves the item as Appendix A says for this stanza; returns whether its state changed (for the
 * inbound direction, exactly when the stanza is delivered to the user's clients).
 */
export function transition(item: Pick<RosterItem, 'subscription' | 'askOut' | 'pendingIn'>, direction: Direction, type: SubscriptionType): boolean {
  const next = nextState(direction, type, stateOf(item));
  if (next === undefined) return false;
  applyState(item, next);
  return true;
}
