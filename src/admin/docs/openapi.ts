import { VERSION } from '../../version.js';
import type { AnyCommand, ArgSpec, ArgType, ResultSpec } from '../registry.js';
import { successBody } from '../ejabberd/render.js';
import { requestExample, servedOverHttp } from './describe.js';

type Schema = Record<string, unknown>;

function argSchema(t: ArgType, a?: ArgSpec): Schema {
  const base: Schema = a?.desc ? { description: a.desc } : {};
  if (a?.example !== undefined) base.examples = [a.example];
  if (t === 'string') return { type: 'string', ...base };
  if (t === 'integer') return { type: 'integer', ...base };
  if ('list' in t) return { type: 'array', items: argSchema(t.list.type, t.list), ...base };
  return {
    type: 'object',
    properties: Object.fromEntries(t.tuple.map((f) => [f.name, argSchema(f.type, f)])),
    required: t.tuple.map((f) => f.name),
    ...base,
  };
}

/** The schema of a value in the shape `shape()` gives it (lists and tuples as they are, scalars bare). */
function valueSchema(spec: ResultSpec): Schema {
  switch (spec.type) {
    case 'integer':
      return { type: 'integer' };
    case 'string':
    case 'restuple':
      return { type: 'string' };
    case 'rescode':
      return { type: 'integer', enum: [0, 1] };
    case 'list':
      return { type: 'array', items: valueSchema(spec.of) };
    case 'tuple':
      return {
        type: 'object',
        properties: Object.fromEntries(spec.fields.map((f) => [f.name, valueSchema(f)])),
        required: spec.fields.map((f) => f.name),
      };
  }
}

/** The schema of a successful call's body, as ejabberd renders it (`successBody`). */
function resultSchema(spec: ResultSpec): Schema {
  if (spec.type === 'string' || spec.type === 'integer') {
    return { type: 'object', properties: { [spec.name]: valueSchema(spec) }, required: [spec.name] };
  }
  return valueSchema(spec);
}

const ERROR_TEXT = { description: 'The error, as text', content: { 'application/json': { schema: { type: 'string' } } } };
const ERROR_OBJECT = { $ref: '#/components/schemas/Error' };
const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: { oneOf: [{ type: 'string' }, ERROR_OBJECT] } } } });

function operation(def: AnyCommand): Schema {
  const properties = Object.fromEntries(def.args.map((a) => [a.name, argSchema(a.type, a)]));
  const required = def.args.filter((a) => typeof a.type !== 'object' || !('list' in a.type)).map((a) => a.name);
  return {
    operationId: def.name,
    summary: def.desc,
    ...(def.longdesc ? { description: def.longdesc } : {}),
    tags: [...def.tags],
    'x-policy': def.policy,
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: { type: 'object', properties, required, additionalProperties: false },
          example: requestExample(def),
        },
      },
    },
    responses: {
      '200': {
        description: def.resultDesc ?? `${def.result.name}`,
        content: { 'application/json': { schema: resultSchema(def.result), example: successBody(def.name, def.result, def.resultExample) } },
      },
      '400': { ...ERROR_TEXT, description: 'Arguments that do not fit the command, or a bad value' },
      '401': { description: 'Credentials that are not valid', content: { 'application/json': { schema: ERROR_OBJECT } } },
      '403': errorAnswer('Not allowed to run the command'),
      '404': errorAnswer('No such command, host, account or item'),
      '409': errorAnswer('Conflicts with what exists'),
    },
  };
}

/** The OpenAPI 3.1 document of `/api` (ejabberd's dialect), generated from the registry. */
export function openApiDocument(commands: readonly AnyCommand[]): Schema {
  const served = commands.filter(servedOverHttp).sort((a, b) => a.name.localeCompare(b.name));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley admin API',
      version: VERSION,
      description: "ejabberd's HTTP API (mod_http_api): POST /api/<command> with the arguments as a JSON object.",
    },
    security: [{ basicAuth: [] }],
    paths: Object.fromEntries(served.map((d) => [`/api/${d.name}`, { post: operation(d) }])),
    components: {
      securitySchemes: { basicAuth: { type: 'http', scheme: 'basic', description: 'An account JID and its password' } },
      schemas: {
        Error: {
          type: 'object',
          properties: { status: { const: 'error' }, code: { type: 'integer' }, message: { type: 'string' } },
          required: ['status', 'code', 'message'],
        },
      },
    },
  };
}
