import { x, type Element } from '../../xmpp/xml/element.js';
import { tryParseJID, type JID } from '../../xmpp/jid.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import type { IqHandlers } from '../../router/iq.js';
import type { AccountService } from '../accounts/index.js';
import type { PepService } from './service.js';
import {
  checkName,
  NS_DATA,
  NS_NODE_CONFIG,
  NS_PUBLISH_OPTIONS,
  NS_PUBSUB,
  NS_PUBSUB_OWNER,
  configForm,
  defaultConfig,
  formFields,
  isAffiliation,
  optionsFromForm,
  pubsubError,
  type NodeConfig,
} from './config.js';

/** Affiliations one node keeps besides its owner (its whitelist and bans). */
const MAX_AFFILIATIONS = 1000;

/**
 * What clients send to an account's bare JID: the pubsub (XEP-0060 §6, §7) and pubsub#owner (§8)
 * requests PEP serves, answered through the PEP service.
 */
export class PubsubIq {
  constructor(
    private readonly pep: PepService,
    private readonly accounts: Pick<AccountService, 'exists'>,
    iq: IqHandlers,
  ) {
    iq.register({
      xmlns: NS_PUBSUB,
      target: 'bare',
      get: ({ from, to, payload }) => this.pubsubGet(from, to, payload),
      set: ({ from, to, payload }) => this.pubsubSet(from, to, payload),
    });
    iq.register({
      xmlns: NS_PUBSUB_OWNER,
      target: 'bare',
      get: ({ from, to, payload }) => this.ownerGet(from, to, payload),
      set: ({ from, to, payload }) => this.ownerSet(from, to, payload),
    });
  }

  /** The owner an IQ to a bare JID addresses: an existing account. */
  private async target(to: JID): Promise<AccountRef> {
    const owner = accountOf(to);
    if (!(await this.accounts.exists(owner))) throw new StanzaError('service-unavailable');
    return owner;
  }

  private ownerOnly(from: JID, owner: AccountRef): void {
    if (from.bare !== bareOf(owner)) throw new StanzaError('forbidden', 'Only the owner may do this');
  }

  private async pubsubGet(from: JID, to: JID, payload: Element): Promise<Element> {
    const owner = await this.target(to);
    const [op, ...rest] = payload.elements();
    if (!op || rest.length) throw new StanzaError('bad-request', 'One pubsub operation per request');
    switch (op.name) {
      case 'items': {
        const nodeName = requireNode(op);
        const ids = op.getChildren('item').map((i) => i.attrs.id ?? '');
        if (ids.some((id) => id === '')) throw new StanzaError('bad-request', 'An item without id');
        let max: number | undefined;
        if (op.attrs.max_items !== undefined) {
          if (!/^[0-9]{1,9}$/.test(op.attrs.max_items)) throw new StanzaError('bad-request', 'max_items is a number');
          max = Number(op.attrs.max_items);
        }
        const { node, items } = await this.pep.items(owner, nodeName, from.bare, { max, ids });
        return x('pubsub', { xmlns: NS_PUBSUB }, x('items', { node: nodeName }, ...items.map((i) => this.pep.itemElement({ ...node.config, deliverPayloads: true }, i))));
      }
      case 'subscriptions':
        // Subscriptions to PEP nodes are implicit (presence and caps): none is kept to list.
        return x('pubsub', { xmlns: NS_PUBSUB }, x('subscriptions', op.attrs.node !== undefined ? { node: op.attrs.node } : {}));
      case 'affiliations': {
        const list = x('affiliations');
        for (const node of await this.pep.nodesOf(owner)) {
          if (op.attrs.node !== undefined && op.attrs.node !== node.name) continue;
          const affiliation = from.bare === bareOf(owner) ? 'owner' : node.config.affiliations[from.bare];
          if (affiliation) list.append(x('affiliation', { node: node.name, affiliation }));
        }
        return x('pubsub', { xmlns: NS_PUBSUB }, list);
      }
      case 'default':
        return x('pubsub', { xmlns: NS_PUBSUB }, x('default', null, configForm(defaultConfig())));
      default:
        throw unsupported(op.name);
    }
  }

  private async pubsubSet(from: JID, to: JID, payload: Element): Promise<Element | undefined> {
    const owner = await this.target(to);
    // The operation comes first; publish-options or configure may follow it.
    const [op] = payload.elements();
    if (!op) throw new StanzaError('bad-request', 'No pubsub operation');
    switch (op.name) {
      case 'publish': {
        const nodeName = requireNode(op);
        if (from.bare !== bareOf(owner)) {
          // A publisher (XEP-0060 §4.1) may publish to an existing node; nobody else but the owner may.
          const node = await this.pep.node(owner, nodeName);
          if (node?.config.affiliations[from.bare] !== 'publisher') throw new StanzaError('forbidden', 'Only the owner and publishers may publish here');
        }
        const items = op.getChildren('item');
        if (items.length !== 1) throw pubsubError('bad-request', items.length ? 'invalid-payload' : 'item-required', 'Publish exactly one item');
        const item = items[0]!;
        const payloads = item.elements();
        if (payloads.length !== 1) throw pubsubError('bad-request', payloads.length ? 'invalid-payload' : 'payload-required', 'An item carries exactly one payload element');
        const optionsForm = payload.getChild('publish-options')?.getChild('x', NS_DATA);
        const options = optionsForm ? publishOptions(optionsForm) : {};
        const id = await this.pep.publish(owner, nodeName, { id: item.attrs.id || undefined, payload: payloads[0]! }, options, from);
        return x('pubsub', { xmlns: NS_PUBSUB }, x('publish', { node: nodeName }, x('item', { id })));
      }
      case 'retract': {
        const nodeName = requireNode(op);
        this.ownerOnly(from, owner);
        const items = op.getChildren('item');
        if (items.length === 0 || items.some((i) => !i.attrs.id)) throw pubsubError('bad-request', 'item-required', 'Name the items to retract');
        const notify = op.attrs.notify === 'true' || op.attrs.notify === '1';
        for (const i of items) await this.pep.retract(owner, nodeName, i.attrs.id!, notify);
        return undefined;
      }
      case 'create': {
        this.ownerOnly(from, owner);
        if (op.attrs.node === undefined || op.attrs.node === '') throw pubsubError('not-acceptable', 'nodeid-required', 'PEP nodes have names (no instant nodes)');
        const form = payload.getChild('configure')?.getChild('x', NS_DATA);
        await this.pep.createNode(owner, op.attrs.node, form ? configFromForm(form) : {});
        return undefined;
      }
      case 'subscribe':
      case 'unsubscribe':
        // PEP subscriptions follow presence subscriptions and caps (XEP-0163 §4.3).
        throw unsupported('subscribe');
      default:
        throw unsupported(op.name);
    }
  }

  // ---- http://jabber.org/protocol/pubsub#owner ----------------------------------------------

  private async ownerGet(from: JID, to: JID, payload: Element): Promise<Element> {
    const owner = await this.target(to);
    this.ownerOnly(from, owner);
    const [op] = payload.elements();
    switch (op?.name) {
      case 'configure': {
        const node = await this.pep.existingNode(owner, requireNode(op));
        return x('pubsub', { xmlns: NS_PUBSUB_OWNER }, x('configure', { node: node.name }, configForm(node.config)));
      }
      case 'default':
        return x('pubsub', { xmlns: NS_PUBSUB_OWNER }, x('default', null, configForm(defaultConfig())));
      case 'affiliations': {
        const node = await this.pep.existingNode(owner, requireNode(op));
        const list = x('affiliations', { node: node.name }, x('affiliation', { jid: bareOf(owner), affiliation: 'owner' }));
        for (const [jid, affiliation] of Object.entries(node.config.affiliations)) list.append(x('affiliation', { jid, affiliation }));
        return x('pubsub', { xmlns: NS_PUBSUB_OWNER }, list);
      }
      case 'subscriptions': {
        const node = await this.pep.existingNode(owner, requireNode(op));
        return x('pubsub', { xmlns: NS_PUBSUB_OWNER }, x('subscriptions', { node: node.name }));
      }
      default:
        throw unsupported(op?.name ?? '');
    }
  }

  private async ownerSet(from: JID, to: JID, payload: Element): Promise<undefined> {
    const owner = await this.target(to);
    this.ownerOnly(from, owner);
    const [op] = payload.elements();
    switch (op?.name) {
      case 'configure': {
        const nodeName = requireNode(op);
        const form = op.getChild('x', NS_DATA);
        if (!form) throw new StanzaError('bad-request', 'No configuration form');
        if (form.attrs.type === 'cancel') {
          await this.pep.existingNode(owner, nodeName);
          return undefined;
        }
        await this.pep.configure(owner, nodeName, configFromForm(form));
        return undefined;
      }
      case 'delete':
        await this.pep.deleteNode(owner, requireNode(op));
        return undefined;
      case 'purge':
        await this.pep.purge(owner, requireNode(op));
        return undefined;
      case 'affiliations': {
        const node = await this.pep.existingNode(owner, requireNode(op));
        const affiliations = { ...node.config.affiliations };
        for (const a of op.getChildren('affiliation')) {
          const jid = a.attrs.jid !== undefined ? tryParseJID(a.attrs.jid) : undefined;
          const value = a.attrs.affiliation ?? '';
          if (!jid || jid.local === '' && jid.domain === '') throw new StanzaError('bad-request', 'An affiliation without a valid jid');
          if (jid.bare === bareOf(owner)) throw new StanzaError('not-acceptable', "The owner's affiliation cannot change");
          if (value === 'none') delete affiliations[jid.bare];
          else if (isAffiliation(value)) affiliations[jid.bare] = value;
          else throw new StanzaError('bad-request', `Unsupported affiliation: ${value}`);
        }
        if (Object.keys(affiliations).length > MAX_AFFILIATIONS) throw new StanzaError('resource-constraint', `A node has at most ${MAX_AFFILIATIONS} affiliations`);
        await this.pep.configure(owner, node.name, { affiliations });
        return undefined;
      }
      default:
        throw unsupported(op?.name ?? '');
    }
  }
}

function requireNode(op: Element): string {
  const node = op.attrs.node;
  if (node === undefined || node === '') throw pubsubError('bad-request', 'nodeid-required', 'No node named');
  checkName(node, 'node');
  return node;
}

function unsupported(feature: string): StanzaError {
  return pubsubError('feature-not-implemented', 'unsupported', `Not supported here: ${feature}`, { feature });
}

function checkFormType(form: Element, expected: string): Map<string, string[]> {
  const fields = formFields(form);
  const type = fields.get('FORM_TYPE')?.[0];
  if (type !== undefined && type !== expected) throw new StanzaError('bad-request', `Expected a ${expected} form`);
  return fields;
}

function publishOptions(form: Element): Partial<NodeConfig> {
  const fields = checkFormType(form, NS_PUBLISH_OPTIONS);
  // The options are preconditions: one this service cannot check is not met (XEP-0060 §7.1.5).
  try {
    return optionsFromForm(fields);
  } catch (err) {
    if (err instanceof StanzaError) throw pubsubError('conflict', 'precondition-not-met', err.text);
    throw err;
  }
}

function configFromForm(form: Element): Partial<NodeConfig> {
  return optionsFromForm(checkFormType(form, NS_NODE_CONFIG));
}
