import { client as xmppClient, xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';

export { xml };

export interface TestClient {
  xmpp: any;
  jid: string;
  /** The SASL mechanism of the <auth/> the client sent. */
  mechanism: string | undefined;
  /** Every stanza received so far (message, presence, iq), in order. */
  received: Element[];
  /** Resolves with the first received stanza (past or future) matching the predicate. */
  waitFor(pred: (el: Element) => boolean, timeoutMs?: number, what?: string): Promise<Element>;
  send(el: Element): Promise<void>;
  iq(el: Element): Promise<Element>;
  /**
   * Pings the server and waits for the answer. The server handles a client's stanzas in order, so
   * once it answers it has handled everything this client sent before, and everything it wrote to
   * this connection before the answer has been received: a barrier for asserting what did NOT arrive.
   */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClientOptions {
  service: string;
  username: string;
  password: string;
  resource?: string;
  domain?: string;
  /** Send initial presence after login (default true). */
  presence?: boolean;
  priority?: number;
  /**
   * The SASL mechanism to log in with. By default PLAIN when the server offers it (on loopback it
   * does, with or without TLS): a real login through the real server that costs the client nothing,
   * where @xmpp/client's SCRAM spends ~0.4 s of CPU on its key derivation. Name SCRAM where SASL
   * is what the test is about; a named mechanism that is not offered fails the login.
   */
  mechanism?: 'PLAIN' | 'SCRAM-SHA-1';
}

type Authenticate = (credentials: { username: string; password: string }, mechanism: string) => Promise<void>;

/** A real XMPP client (@xmpp/client) logged in and, by default, available. */
export async function connect(opts: ClientOptions): Promise<TestClient> {
  const xmpp = xmppClient({
    service: opts.service,
    domain: opts.domain ?? 'localhost',
    username: opts.username,
    resource: opts.resource,
    credentials: async (authenticate: Authenticate, offered: string[], _fast: unknown, entity: { isSecure(): boolean }) => {
      let mechanism: string | undefined = opts.mechanism;
      if (mechanism === undefined) {
        // The library's own choice (SCRAM unless the stream is encrypted and PLAIN comes first) when PLAIN is not offered.
        mechanism = offered.includes('PLAIN') ? 'PLAIN' : entity.isSecure() ? offered[0] : offered.find((m) => m !== 'PLAIN');
      } else if (!offered.includes(mechanism)) {
        throw new Error(`SASL mechanism ${mechanism} not offered (offered: ${offered.join(', ')})`);
      }
      await authenticate({ username: opts.username, password: opts.password }, mechanism!);
    },
  });
  xmpp.reconnect.stop();
  // The library waits 2 s for each stream open, STARTTLS and SASL step: on a loaded 2-core machine (the
  // suite runs files in parallel) a correct server can take longer. A broken one still fails the test.
  xmpp.timeout = 15_000;
  xmpp.on('error', () => undefined);
  let mechanism: string | undefined;
  xmpp.on('send', (el: Element) => {
    if (el.name === 'auth' && el.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-sasl') mechanism = el.attrs.mechanism;
  });
  const received: Element[] = [];
  const waiters: { pred: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];
  xmpp.on('stanza', (el: Element) => {
    received.push(el);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(el)) {
        waiters[i]!.resolve(el);
        waiters.splice(i, 1);
      }
    }
  });
  const address = await xmpp.start();
  if (opts.presence !== false) {
    const p = xml('presence', {});
    if (opts.priority !== undefined) p.append(xml('priority', {}, String(opts.priority)));
    await xmpp.send(p);
  }
  return {
    xmpp,
    jid: address.toString(),
    mechanism,
    received,
    waitFor(pred, timeoutMs = 3000, what = 'stanza') {
      const found = received.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (el) => {
            clearTimeout(t);
            resolve(el);
          },
        });
      });
    },
    send: (el) => xmpp.send(el),
    iq: (el) => xmpp.iqCaller.request(el),
    async sync() {
      await xmpp.iqCaller.request(xml('iq', { type: 'get', to: opts.domain ?? 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    },
    async stop() {
      try {
        xmpp.timeout = 2000; // closing is not what is tested: a dead connection is not waited for long
        await xmpp.stop();
      } catch {
        /* already gone */
      }
    },
  };
}

export function bodyOf(el: Element): string | undefined {
  return el.getChildText('body') ?? undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A barrier over several clients, for asserting what did NOT arrive: a first round of pings makes
 * sure the server has handled everything each of them sent (a client's stanzas are handled in
 * order), a second that each has received what the server wrote to it meanwhile. No time window.
 */
export async function settle(...clients: TestClient[]): Promise<void> {
  for (const c of clients) await c.sync();
  for (const c of clients) await c.sync();
}

/** Sends an IQ that must fail and returns its error condition and type (fails the test if it succeeds). */
export async function iqError(c: TestClient, iq: Element): Promise<{ condition?: string; type?: string }> {
  try {
    await c.iq(iq);
  } catch (err: any) {
    return { condition: err.condition, type: err.type };
  }
  throw new Error('the IQ was expected to fail');
}
