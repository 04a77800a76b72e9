import { x, type Element } from '../../xmpp/xml/element.js';
import { StanzaError } from '../../xmpp/stanza.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = `${NS_PUBSUB}#owner`;
export const NS_PUBSUB_EVENT = `${NS_PUBSUB}#event`;
export const NS_PUBSUB_ERRORS = `${NS_PUBSUB}#errors`;
export const NS_NODE_CONFIG = `${NS_PUBSUB}#node_config`;
export const NS_PUBLISH_OPTIONS = `${NS_PUBSUB}#publish-options`;
export const NS_DATA = 'jabber:x:data';

export const ACCESS_MODELS = ['presence', 'open', 'roster', 'whitelist'] as const;
export type AccessModel = (typeof ACCESS_MODELS)[number];
export const SEND_LAST = ['never', 'on_sub', 'on_sub_and_presence'] as const;
export type SendLast = (typeof SEND_LAST)[number];
/** Affiliations besides the owner's (XEP-0060 §4.1): kept per node for whitelists and bans. */
export type Affiliation = 'member' | 'publisher' | 'outcast';
const AFFILIATIONS: readonly string[] = ['member', 'publisher', 'outcast'];

/** A node's configuration, as stored (JSON) and as the node_config form shows it. */
export interface NodeConfig {
  accessModel: AccessModel;
  persistItems: boolean;
  /** Items kept; `max` is pep.maxItemsPerNode (which also caps a number). */
  maxItems: number | 'max';
  sendLastPublishedItem: SendLast;
  notifyRetract: boolean;
  notifyDelete: boolean;
  deliverPayloads: boolean;
  title: string;
  /** The owner's roster groups whose contacts may read a node of access model `roster`. */
  rosterGroupsAllowed: string[];
  /** By bare JID. */
  affiliations: Record<string, Affiliation>;
}

/** PEP's defaults (XEP-0163 §4.1.4 and §4.3.4: presence access, the last item sent on presence). */
export function defaultConfig(): NodeConfig {
  return {
    accessModel: 'presence',
    persistItems: true,
    maxItems: 1,
    sendLastPublishedItem: 'on_sub_and_presence',
    notifyRetract: true,
    notifyDelete: true,
    deliverPayloads: true,
    title: '',
    rosterGroupsAllowed: [],
    affiliations: {},
  };
}

export function decodeConfig(json: string): NodeConfig {
  return { ...defaultConfig(), ...(JSON.parse(json) as Partial<NodeConfig>) };
}

/** An application-specific pubsub error (XEP-0060 §7, §8). */
export function pubsubError(condition: string, app: string | undefined, text?: string, attrs?: Record<string, string>): StanzaError {
  return new StanzaError(condition, text, undefined, app ? x(app, { xmlns: NS_PUBSUB_ERRORS, ...attrs }) : undefined);
}

/** The fields of a data form: var → values. */
export function formFields(form: Element): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const f of form.getChildren('field')) {
    const name = f.attrs.var;
    if (name) fields.set(name, f.getChildren('value').map((v) => v.text()));
  }
  return fields;
}

function parseBoolean(name: string, v: string | undefined): boolean {
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new StanzaError('not-acceptable', `${name}: expected a boolean, not ${v ?? 'nothing'}`);
}

/** The options a form sets (FORM_TYPE and fields this service does not know left out), checked. */
export function optionsFromForm(fields: Map<string, string[]>): Partial<NodeConfig> {
  const o: Partial<NodeConfig> = {};
  for (const [name, values] of fields) {
    const v = values[0];
    switch (name) {
      case 'pubsub#access_model':
        if (!(ACCESS_MODELS as readonly string[]).includes(v ?? '')) throw new StanzaError('not-acceptable', `Unsupported access model: ${v ?? ''}`);
        o.accessModel = v as AccessModel;
        break;
      case 'pubsub#persist_items':
        o.persistItems = parseBoolean(name, v);
        break;
      case 'pubsub#max_items':
        if (v === 'max') o.maxItems = 'max';
        else if (v !== undefined && /^[0-9]{1,9}$/.test(v) && Number(v) >= 1) o.maxItems = Number(v);
        else throw new StanzaError('not-acceptable', `pubsub#max_items: expected a positive number or max, not ${v ?? 'nothing'}`);
        break;
      case 'pubsub#send_last_published_item':
        if (!(SEND_LAST as readonly string[]).includes(v ?? '')) throw new StanzaError('not-acceptable', `Unsupported pubsub#send_last_published_item: ${v ?? ''}`);
        o.sendLastPublishedItem = v as SendLast;
        break;
      case 'pubsub#notify_retract':
        o.notifyRetract = parseBoolean(name, v);
        break;
      case 'pubsub#notify_delete':
        o.notifyDelete = parseBoolean(name, v);
        break;
      case 'pubsub#deliver_payloads':
        o.deliverPayloads = parseBoolean(name, v);
        break;
      case 'pubsub#title':
        o.title = (v ?? '').slice(0, 1024);
        break;
      case 'pubsub#roster_groups_allowed':
        o.rosterGroupsAllowed = values.slice(0, 1000);
        break;
      default:
        break; // FORM_TYPE, and options of pubsub services this one does not offer
    }
  }
  return o;
}

/** The publish-options (XEP-0060 §7.1.5) a node does not meet: their names. */
export function unmetPreconditions(config: NodeConfig, options: Partial<NodeConfig>): string[] {
  const unmet: string[] = [];
  for (const [k, v] of Object.entries(options) as [keyof NodeConfig, unknown][]) {
    const have = config[k];
    const same = Array.isArray(v) && Array.isArray(have) ? v.length === have.length && v.every((e, i) => have[i] === e) : have === v;
    if (!same) unmet.push(k);
  }
  return unmet;
}

function field(name: string, type: string, label: string, values: readonly string[], options?: readonly string[]): Element {
  const f = x('field', { var: name, type, label });
  for (const o of options ?? []) f.append(x('option', null, x('value', null, o)));
  for (const v of values) f.append(x('value', null, v));
  return f;
}

/** The node_config form with a node's current values (XEP-0060 §8.2). */
export function configForm(config: NodeConfig, type: 'form' | 'result' = 'form'): Element {
  const bool = (b: boolean) => (b ? '1' : '0');
  return x(
    'x',
    { xmlns: NS_DATA, type },
    field('FORM_TYPE', 'hidden', '', [NS_NODE_CONFIG]),
    field('pubsub#title', 'text-single', 'A friendly name for the node', [config.title]),
    field('pubsub#access_model', 'list-single', 'Who may subscribe and retrieve items', [config.accessModel], ACCESS_MODELS),
    field('pubsub#roster_groups_allowed', 'list-multi', 'Roster groups allowed to subscribe', config.rosterGroupsAllowed),
    field('pubsub#persist_items', 'boolean', 'Persist items to storage', [bool(config.persistItems)]),
    field('pubsub#max_items', 'text-single', 'Max # of items to persist', [String(config.maxItems)]),
    field('pubsub#send_last_published_item', 'list-single', 'When to send the last published item', [config.sendLastPublishedItem], SEND_LAST),
    field('pubsub#deliver_payloads', 'boolean', 'Deliver payloads with event notifications', [bool(config.deliverPayloads)]),
    field('pubsub#notify_retract', 'boolean', 'Notify subscribers when items are removed from the node', [bool(config.notifyRetract)]),
    field('pubsub#notify_delete', 'boolean', 'Notify subscribers when the node is deleted', [bool(config.notifyDelete)]),
  );
}

export function isAffiliation(v: string): v is Affiliation {
  return AFFILIATIONS.includes(v);
}

/** Longest node name and item id, in characters. */
const MAX_NAME = 1024;

export function checkName(name: string, what: 'node' | 'item'): void {
  if (name === '' || name.length > MAX_NAME) throw new StanzaError('bad-request', `Invalid ${what} name`);
}
