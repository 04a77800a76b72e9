import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startParley, type Parley } from '../support/harness.js';
import { basic, of, PREFIX, SECRET, startOpenfire } from './openfire-support.js';

// The Openfire REST API dialect's frame: negotiation, errors, authentication, allow-list, probes, OpenAPI.

describe('openfire api framework', () => {
  let p: Parley;
  before(async () => {
    p = await startOpenfire({ auth: 'both' });
    await p.register('alice');
  });
  after(() => p.close());

  test('XML by default, JSON on Accept, compact empty collections', async () => {
    const x = await of(p, 'GET', '/sessions');
    assert.equal(x.status, 200);
    assert.match(x.contentType!, /application\/xml/);
    assert.equal(x.text, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sessions/>');
    const j = await of(p, 'GET', '/sessions', { json: true });
    assert.deepEqual(j.json, { sessions: [] });
  });

  test('errors: the {resource, message, exception} entity in the media type asked for', async () => {
    const x = await of(p, 'GET', '/users/nobody');
    assert.equal(x.status, 404);
    assert.equal(x.xml!.name, 'error');
    assert.equal(x.xml!.getChildText('resource'), 'nobody');
    assert.equal(x.xml!.getChildText('exception'), 'UserNotFoundException');
    assert.ok(x.xml!.getChildText('message'));
    const j = await of(p, 'GET', '/users/nobody', { json: true });
    assert.equal(j.status, 404);
    assert.equal(j.json.exception, 'UserNotFoundException');
    assert.equal(j.json.resource, 'nobody');
    const bad = await of(p, 'POST', '/users', { body: '<user><username>x</username>', json: true });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.exception, 'IllegalArgumentException');
    // No Accept: an error answers in the media type of the request's body.
    const jsonBody = await of(p, 'POST', '/users', { body: { username: 'nopassword' } });
    assert.equal(jsonBody.status, 400);
    assert.equal(jsonBody.json.exception, 'IllegalArgumentException');
    const noRoute = await of(p, 'GET', '/nothing/here', { json: true });
    assert.equal(noRoute.status, 404);
  });

  test('authentication: shared secret, basic auth of an admin, nothing else', async () => {
    assert.equal((await of(p, 'GET', '/users', { auth: null })).status, 401);
    assert.equal((await of(p, 'GET', '/users', { auth: 'wrong' })).status, 401);
    assert.equal((await of(p, 'GET', '/users', { auth: SECRET })).status, 200);
    assert.equal((await of(p, 'GET', '/users', { auth: basic('admin', p.adminPassword) })).status, 200);
    assert.equal((await of(p, 'GET', '/users', { auth: basic('admin@localhost', p.adminPassword) })).status, 200);
    const notAdmin = await of(p, 'GET', '/users', { auth: basic('alice', 'alicepw'), json: true });
    assert.equal(notAdmin.status, 401);
    assert.equal(notAdmin.json.exception, 'NotAuthorizedException');
  });

  test('probes answer without credentials, with their sub-paths', async () => {
    for (const path of ['/system/liveness', '/system/readiness', '/system/liveness/deadlock', '/system/readiness/server', '/system/readiness/connections']) {
      assert.equal((await of(p, 'GET', path, { auth: null })).status, 200, path);
    }
  });

  test('gzip both ways', async () => {
    const body = gzipSync(JSON.stringify({ username: 'zipped', password: 'zippedpw' }));
    const res = await fetch(`http://127.0.0.1:${p.ports.http}${PREFIX}/users`, {
      method: 'POST',
      headers: { authorization: SECRET, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    assert.equal(res.status, 201);
    for (let i = 0; i < 30; i++) await of(p, 'POST', '/users', { body: { username: `bulk${i}`, password: 'pw', name: 'A rather long display name to make the answer large' } });
    const list = await fetch(`http://127.0.0.1:${p.ports.http}${PREFIX}/users`, { headers: { authorization: SECRET, 'accept-encoding': 'gzip', accept: 'application/json' } });
    assert.equal(list.headers.get('content-encoding'), 'gzip');
    // fetch decompresses: the body is the JSON list.
    const users = ((await list.json()) as { users: { username: string }[] }).users.map((u) => u.username);
    assert.ok(users.includes('zipped') && users.includes('bulk29'));
  });

  test('the OpenAPI document is generated from the route table and valid', async () => {
    const r = await of(p, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.text);
    const v = new Validator();
    const res = await v.validate(doc);
    assert.ok(res.valid, JSON.stringify(res.errors));
    assert.ok(doc.paths[`${PREFIX}/users/{username}`].put);
    assert.ok(doc.paths[`${PREFIX}/chatrooms/{roomName}/owners/{name}`].post);
    assert.deepEqual(doc.paths[`${PREFIX}/system/liveness`].get.security, []);
  });
});

describe('openfire api configuration', () => {
  test('off by default', async () => {
    const p = await startParley();
    try {
      assert.equal((await of(p, 'GET', '/system/liveness', { auth: null })).status, 404);
    } finally {
      await p.close();
    }
  });

  test('an IP outside the allow-list is refused; secret mode refuses basic auth', async () => {
    const p = await startOpenfire({ allowedIps: ['10.0.0.0/8'] });
    try {
      assert.equal((await of(p, 'GET', '/users')).status, 401);
      assert.equal((await of(p, 'GET', '/system/liveness', { auth: null })).status, 200);
    } finally {
      await p.close();
    }
    const q = await startOpenfire({ allowedIps: ['127.0.0.1'] });
    try {
      assert.equal((await of(q, 'GET', '/users')).status, 200);
      assert.equal((await of(q, 'GET', '/users', { auth: basic('admin', q.adminPassword) })).status, 401);
    } finally {
      await q.close();
    }
  });
});
