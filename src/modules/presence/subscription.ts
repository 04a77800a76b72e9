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

/** A.2: the user's server handles a subscription stanza its user sent. */
const OUTBOUND: Table = {
  subscribe: {
    None: 'None+PendingOut',
    'None+PendingIn': 'None+PendingOut+PendingIn',
    From: 'From+PendingOut',
  },
  unsubscribe: {
    'None+PendingOut': 'None',
    'None+PendingOut+PendingIn': 'None+PendingIn',
    To: 'None',
    'To+PendingIn': 'None+PendingIn',
    'From+PendingOut': 'From',
    Both: 'From',
  },
  subscribed: {
    'None+PendingIn': 'From',
    'None+PendingOut+PendingIn': 'From+PendingOut',
    'To+PendingIn': 'Both',
  },
  unsubscribed: {
    'None+PendingIn': 'None',
    'None+PendingOut+PendingIn': 'None+PendingOut',
    'To+PendingIn': 'To',
    From: 'None',
    'From+PendingOut': 'None+PendingOut',
    Both: 'To',
  },
};

/** A.3: the contact's server handles a subscription stanza addressed to its user. */
const INBOUND: Table = {
  subscribe: {
    None: 'None+PendingIn',
    'None+PendingOut': 'None+PendingOut+PendingIn',
    To: 'To+PendingIn',
  },
  unsubscribe: {
    'None+PendingIn': 'None',
    'None+PendingOut+PendingIn': 'None+PendingOut',
    'To+PendingIn': 'To',
    From: 'None',
    'From+PendingOut': 'None+PendingOut',
    Both: 'To',
  },
  subscribed: {
    'None+PendingOut': 'To',
    'None+PendingOut+PendingIn': 'To+PendingIn',
    'From+PendingOut': 'Both',
  },
  unsubscribed: {
    'None+PendingOut': 'None',
    'None+PendingOut+PendingIn': 'None+PendingIn',
    To: 'None',
    'To+PendingIn': 'None+PendingIn',
    'From+PendingOut': 'From',
    Both: 'From',
  },
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
