/**
 * Domain errors raised by feature services and commands, each with a stable code (`kind`). Adapters (ejabberd API, Openfire, hosting, XMPP)
 * map them to their own status codes and bodies; services never know which adapter called.
 */
export type DomainErrorKind = 'not-found' | 'conflict' | 'bad-argument' | 'forbidden' | 'unavailable' | 'internal';

export class DomainError extends Error {
  constructor(readonly kind: DomainErrorKind, message: string) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (msg: string) => new DomainError('not-found', msg);
export const conflict = (msg: string) => new DomainError('conflict', msg);
export const badArgument = (msg: string) => new DomainError('bad-argument', msg);
export const forbidden = (msg: string) => new DomainError('forbidden', msg);
export const unavailable = (msg: string) => new DomainError('unavailable', msg);

/**
 * What the admin surfaces answer when a service refused with an XMPP stanza error (RFC 6120 §8.3.3):
 * the condition's domain meaning; `otherwise` for the conditions that have none of their own.
 */
export function fromStanzaCondition(condition: string, text: string, otherwise: 'forbidden' | 'bad-argument'): DomainError {
  switch (condition) {
    case 'item-not-found':
      return notFound(text);
    case 'conflict':
      return conflict(text);
    case 'bad-request':
    case 'jid-malformed':
    case 'not-acceptable':
      return badArgument(text);
    case 'not-allowed':
    case 'forbidden':
      return forbidden(text);
    default:
      return new DomainError(otherwise, text);
  }
}
