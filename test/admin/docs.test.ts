// Documentation generated from the registry (issue 6 items 2 and 3): the committed
// docs/commands.md is what the generator makes of the modules' commands, every command carries
// what the documents need, and a running server serves its OpenAPI document at /api/openapi.json.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES } from '../../src/server.js';
import { commandsOf } from '../../src/modules/module.js';
import { commandsMarkdown } from '../../src/admin/docs/markdown.js';
import { openApiDocument } from '../../src/admin/docs/openapi.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startParley, type Parley } from '../support/harness.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;
before(async () => {
  parley = await startParley();
});
after(async () => {
  await parley?.close();
});

test('docs/commands.md is what `npm run docs` generates from the registry', () => {
  const committed = readFileSync(join(ROOT, 'docs/commands.md'), 'utf8');
  assert.ok(committed === commandsMarkdown(commandsOf(MODULES)), 'docs/commands.md is stale: run `npm run docs` and commit it');
});

test('every command has a description, a description and an example per argument, and a result example', () => {
  const commands = commandsOf(MODULES);
  assert.ok(commands.length >= 30);
  for (const def of commands) {
    assert.ok(def.desc, `${def.name}: description`);
    assert.notEqual(def.resultExample, undefined, `${def.name}: result example`);
    for (const a of def.args) {
      assert.ok(a.desc, `${def.name} ${a.name}: description`);
      assert.notEqual(a.example, undefined, `${def.name} ${a.name}: example`);
    }
  }
});

test('the same commands are documented as the running server serves', () => {
  assert.deepEqual(
    parley.server.commands.list().map((d) => d.name),
    commandsOf(MODULES).map((d) => d.name),
  );
});

test('GET /api/openapi.json serves the OpenAPI 3.1 document of every command', async () => {
  const res = await fetch(`http://127.0.0.1:${parley.ports.http}/api/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, { post: any }> };
  assert.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument(commandsOf(MODULES)))));
  assert.equal(doc.openapi, '3.1.0');
  const validator = new Validator();
  const validity = await validator.validate(doc as unknown as Record<string, unknown>);
  assert.ok(validity.valid, `a valid OpenAPI ${validator.version} document: ${JSON.stringify(validity.errors)}`);
  assert.deepEqual(Object.keys(doc.paths).sort(), commandsOf(MODULES).map((d) => `/api/${d.name}`).sort());

  const roster = doc.paths['/api/get_roster']!.post;
  assert.deepEqual(roster.requestBody.content['application/json'].schema.required, ['user', 'server']);
  assert.equal(roster.responses['200'].content['application/json'].schema.type, 'array');
  assert.equal(roster.responses['200'].content['application/json'].schema.items.properties.jid.type, 'string');
  // A scalar result is the object {name: value}; a rescode is 0 or 1.
  const count = doc.paths['/api/get_offline_count']!.post.responses['200'].content['application/json'];
  assert.deepEqual(count.example, { value: 5 });
  assert.deepEqual(doc.paths['/api/check_account']!.post.responses['200'].content['application/json'].example, 0);
});

test("the documented example answers are the server's answers in shape", async () => {
  // registered_vhosts takes no argument: its real answer has the documented shape.
  const doc = openApiDocument(commandsOf(MODULES)) as { paths: Record<string, { post: any }> };
  const real = await parley.api('registered_vhosts');
  assert.equal(real.status, 200);
  assert.deepEqual(real.body, ['localhost']);
  assert.ok(Array.isArray(doc.paths['/api/registered_vhosts']!.post.responses['200'].content['application/json'].example));
  const stats = await parley.api('stats', { name: 'registeredusers' });
  assert.deepEqual(Object.keys(stats.body), Object.keys(doc.paths['/api/stats']!.post.responses['200'].content['application/json'].example));
});
