import { client as xmppClient, xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';

export { xml };

export interface TestClient {
  xmpp: any;
  jid: string;
  /** Every stanza received so far (message, presence, iq), in order. */
  received: Element[];
  /** Resolves with the first received stanza (past or future) matching the predicate. */
  waitFor(pred: (el: Element) => boolean, timeoutMs?: number, what?: string): Promise<Element>;
  send(el: Element): Promise<void>;
  iq(el: Element): Promise<Element>;
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
}

/** A real XMPP client (@xmpp/client) logged in and, by default, available. */
export async function connect(opts: ClientOptions): Promise<TestClient> {
  const xmpp = xmppClient({
    service: opts.service,
    domain: opts.domain ?? 'localhost',
    username: opts.username,
    password: opts.password,
    resource: opts.resource,
  });
  xmpp.reconnect.stop();
  // The library waits 2 s for each stream open, STARTTLS and SASL step: on a loaded 2-core machine (the
  // suite runs files in parallel) a correct server can take longer. A broken one still fails the test.
  xmpp.timeout = 15_000;
  xmpp.on('error', () => undefined);
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

/** Sends an IQ that must fail and returns its error condition and type (fails the test if it succeeds). */
export async function iqError(c: TestClient, iq: Element): Promise<{ condition?: string; type?: string }> {
  try {
    await c.iq(iq);
  } catch (err: any) {
    return { condition: err.condition, type: err.type };
  }
  throw new Error('the IQ was expected to fail');
}
