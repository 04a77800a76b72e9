import type { Method, Reply, RequestContext } from '../../http/layer.js';
import type { Entity } from './format.js';

/** An Openfire error answer: status and the `{resource, message, exception}` entity. */
export class OpenfireError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly resource: string,
    readonly exception: string,
  ) {
    super(message);
  }
}

/** What the exception of each domain error is called, per kind of resource an endpoint acts on. */
export interface Exceptions {
  'not-found'?: string;
  conflict?: string;
}

/** One endpoint of the table: the path below the prefix, its answer, and what its errors are called. */
export interface Endpoint {
  method: Method;
  path: string;
  summary: string;
  /** Request body entity (XML root), for the OpenAPI document. */
  body?: string;
  /** Success status when the handler returns nothing else (201 on create, 200 otherwise). */
  status?: number;
  /** The name errors give as their `resource`: a path parameter, by default the last one. */
  resource?: string;
  exceptions?: Exceptions;
  /** Answered without credentials (the probes). */
  open?: boolean;
  /** Handles the request: an Entity, or undefined for an empty answer. */
  handle(c: Call): Promise<Entity | undefined | Reply> | Entity | undefined | Reply;
}

export interface Call {
  ctx: RequestContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** The served host the API acts on (Openfire has one XMPP domain). */
  host: string;
  /** Who called (for the audit log and what acts on their behalf). */
  who: string;
}

