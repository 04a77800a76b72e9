// OAuth (issue 8 item 1) over real HTTP: the six commands, /oauth/token (password grant), the
// authorization page (implicit grant), and bearer tokens on /api with scopes, revocation and expiry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';

let parley: Parley;
let base: string;

async function ok(command: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, 200, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

async function withToken(token: string, command: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${base}/api/${command}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(args) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

async function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(), redirect: 'manual' });
}

before(async () => {
  parley = await startParley();
  base = `http://127.0.0.1:${parley.ports.http}`;
  await parley.register('alice', 'bob');
});

after(async () => {
  await parley?.close();
});

test('oauth_issue_token: a token for the admin with ejabberd:admin runs admin commands; listing and revoking', async () => {
  const issued = await ok('oauth_issue_token', { jid: 'admin@localhost', ttl: 3600, scopes: 'ejabberd:admin' });
  assert.equal(typeof issued.token, 'string');
  assert.ok(issued.token.length >= 32);
  assert.deepEqual({ scopes: issued.scopes, expires_in: issued.expires_in }, { scopes: 'ejabberd:admin', expires_in: '3600' });

  const r = await withToken(issued.token, 'registered_users', { host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.sort(), ['admin', 'alice', 'bob']);

  // Listed without the secret: an id that revocation accepts.
  const listed = await ok('oauth_list_tokens');
  const mine = listed.find((t: any) => t.user === 'admin@localhost' && t.scope === 'ejabberd:admin');
  assert.ok(mine, JSON.stringify(listed));
  assert.match(mine.token, /^[0-9a-f]{16}$/);
  assert.notEqual(mine.token, issued.token);
  assert.ok(Number(mine.expires_in) > 3590 && Number(mine.expires_in) <= 3600);
  assert.ok(!JSON.stringify(listed).includes(issued.token), 'the token itself is never listed');

  const remaining = await ok('oauth_revoke_token', { token: mine.token });
  assert.ok(!remaining.some((t: any) => t.token === mine.token));
  const refused = await withToken(issued.token, 'registered_users', { host: 'localhost' });
  assert.equal(refused.status, 401, 'a revoked token is refused on its next call');
  assert.deepEqual(refused.body, { status: 'error', code: 10, message: 'Oauth Token is invalid or expired.' });
  assert.equal((await parley.api('oauth_revoke_token', { token: mine.token })).status, 404);
});

test('revoking by the token itself works too, and is immediate', async () => {
  const { token } = await ok('oauth_issue_token', { jid: 'admin@localhost', ttl: 600, scopes: 'registered_users' });
  assert.equal((await withToken(token, 'registered_users', { host: 'localhost' })).status, 200);
  await ok('oauth_revoke_token', { token });
  assert.equal((await withToken(token, 'registered_users', { host: 'localhost' })).status, 401);
});

test('scopes: a command name allows that command only; ejabberd:user only the account\'s own user commands', async () => {
  const { token: one } = await ok('oauth_issue_token', { jid: 'admin@localhost', ttl: 600, scopes: 'connected_users_number;registered_users' });
  assert.equal((await withToken(one, 'registered_users', { host: 'localhost' })).status, 200);
  const other = await withToken(one, 'get_roster', { user: 'alice', server: 'localhost' });
  assert.equal(other.status, 403, other.text);

  const { token: user } = await ok('oauth_issue_token', { jid: 'alice@localhost', ttl: 600, scopes: 'ejabberd:user' });
  const own = await withToken(user, 'get_roster', { user: 'alice', server: 'localhost' });
  assert.equal(own.status, 200, own.text);
  assert.equal((await withToken(user, 'get_roster', { user: 'bob', server: 'localhost' })).status, 403, "not bob's roster");
  assert.equal((await withToken(user, 'registered_users', { host: 'localhost' })).status, 403, 'no admin command');

  // ejabberd:admin on a non-admin account gives no admin rights.
  const { token: fake } = await ok('oauth_issue_token', { jid: 'bob@localhost', ttl: 600, scopes: 'ejabberd:admin' });
  assert.equal((await withToken(fake, 'registered_users', { host: 'localhost' })).status, 403);
  assert.equal((await withToken('not-a-token', 'registered_users', { host: 'localhost' })).status, 401);
});

test('an expired token is refused', async () => {
  const { token } = await ok('oauth_issue_token', { jid: 'admin@localhost', ttl: 1, scopes: 'ejabberd:admin' });
  assert.equal((await withToken(token, 'registered_users', { host: 'localhost' })).status, 200);
  await eventually(async () => (await withToken(token, 'registered_users', { host: 'localhost' })).status === 401, 5000, 'the token to expire');
  assert.equal(await parley.server.oauth!.purge(), 1, 'the expired token is purged');
});

test('oauth_issue_token refuses bad input with clear errors', async () => {
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ jid: 'nobody@localhost', ttl: 60, scopes: 'ejabberd:user' }, 404, /does not exist/],
    [{ jid: 'alice@elsewhere.test', ttl: 60, scopes: 'ejabberd:user' }, 400, /Unknown host/],
    [{ jid: 'not a jid@@', ttl: 60, scopes: 'ejabberd:user' }, 400, /Invalid jid/],
    [{ jid: 'alice@localhost', ttl: 0, scopes: 'ejabberd:user' }, 400, /Invalid ttl/],
    [{ jid: 'alice@localhost', ttl: 999_999_999, scopes: 'ejabberd:user' }, 400, /maxOAuthTokenTtl/],
    [{ jid: 'alice@localhost', ttl: 60, scopes: '' }, 400, /No scope/],
    [{ jid: 'alice@localhost', ttl: 60, scopes: 'bad scope!' }, 400, /Invalid scope/],
  ];
  for (const [args, status, message] of cases) {
    const r = await parley.api('oauth_issue_token', args);
    assert.equal(r.status, status, `${JSON.stringify(args)} → ${r.status} ${r.text}`);
    assert.match(r.text, message);
  }
});

test('an account holds at most limits.maxOAuthTokensPerAccount tokens, also when asked concurrently', async () => {
  const p = await startParley({ limits: { maxOAuthTokensPerAccount: 3 } });
  try {
    await p.register('carol');
    const results = await Promise.all(Array.from({ length: 8 }, () => p.api('oauth_issue_token', { jid: 'carol@localhost', ttl: 60, scopes: 'ejabberd:user' })));
    assert.equal(results.filter((r) => r.status === 200).length, 3);
    assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 403 && /maxOAuthTokensPerAccount/.test(r.text)));
    // Removing the account removes its tokens.
    const listed = (await p.api('oauth_list_tokens')).body;
    assert.equal(listed.filter((t: any) => t.user === 'carol@localhost').length, 3);
    assert.equal((await p.api('unregister', { user: 'carol', host: 'localhost' })).status, 200);
    assert.equal((await p.api('oauth_list_tokens')).body.filter((t: any) => t.user === 'carol@localhost').length, 0);
  } finally {
    await p.close();
  }
});

test('/oauth/token: the password grant, with and without a registered client', async () => {
  const r = await postForm('/oauth/token', { grant_type: 'password', username: 'alice@localhost', password: 'alicepw', scope: 'ejabberd:user get_roster', ttl: '120' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const body = (await r.json()) as any;
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.scope, 'ejabberd:user get_roster');
  assert.equal(body.expires_in, 120);
  assert.equal((await withToken(body.access_token, 'get_roster', { user: 'alice', server: 'localhost' })).status, 200);

  const wrong = await postForm('/oauth/token', { grant_type: 'password', username: 'alice@localhost', password: 'nope', scope: 'ejabberd:user' });
  assert.equal(wrong.status, 400);
  assert.equal(((await wrong.json()) as any).error, 'invalid_grant');
  const grant = await postForm('/oauth/token', { grant_type: 'client_credentials' });
  assert.equal(((await grant.json()) as any).error, 'unsupported_grant_type');
  const scope = await postForm('/oauth/token', { grant_type: 'password', username: 'alice@localhost', password: 'alicepw', scope: '' });
  assert.equal(((await scope.json()) as any).error, 'invalid_scope');

  assert.equal(await ok('oauth_add_client_password', { client_id: 'script', client_name: 'A script', secret: 's3cret' }), 'Success');
  const withClient = await postForm('/oauth/token', { grant_type: 'password', username: 'alice@localhost', password: 'alicepw', scope: 'ejabberd:user' }, { authorization: 'Basic ' + Buffer.from('script:s3cret').toString('base64') });
  assert.equal(withClient.status, 200);
  const badClient = await postForm('/oauth/token', { grant_type: 'password', username: 'alice@localhost', password: 'alicepw', scope: 'ejabberd:user', client_id: 'script', client_secret: 'wrong' });
  assert.equal(badClient.status, 401);
  assert.equal(((await badClient.json()) as any).error, 'invalid_client');
  assert.equal(await ok('oauth_remove_client', { client_id: 'script' }), 'Success');
  assert.equal((await parley.api('oauth_remove_client', { client_id: 'script' })).status, 404);
});

test('the authorization page: form, login, redirect with the token in the fragment; unregistered redirects refused', async () => {
  assert.equal(await ok('oauth_add_client_implicit', { client_id: 'panel', client_name: 'Web <panel>', redirect_uri: 'https://panel.example/cb' }), 'Success');
  const pageRes = await fetch(`${base}/oauth/authorize?response_type=token&client_id=panel&redirect_uri=${encodeURIComponent('https://panel.example/cb')}&scope=ejabberd:user&state=xyz`);
  assert.equal(pageRes.status, 200);
  assert.match(pageRes.headers.get('content-type') ?? '', /text\/html/);
  const text = await pageRes.text();
  assert.match(text, /Web &#60;panel&#62; asks for access/);
  assert.match(text, /action="\/oauth\/authorization_token"/);

  const ok302 = await postForm('/oauth/authorization_token', { response_type: 'token', client_id: 'panel', redirect_uri: 'https://panel.example/cb', scope: 'ejabberd:user', state: 'xyz', username: 'alice@localhost', password: 'alicepw' });
  assert.equal(ok302.status, 302);
  const location = new URL(ok302.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, 'https://panel.example/cb');
  const frag = new URLSearchParams(location.hash.slice(1));
  assert.equal(frag.get('state'), 'xyz');
  assert.equal(frag.get('token_type'), 'bearer');
  assert.equal((await withToken(frag.get('access_token')!, 'get_roster', { user: 'alice', server: 'localhost' })).status, 200);

  const denied = await postForm('/oauth/authorization_token', { client_id: 'panel', scope: 'ejabberd:user', state: 's', username: 'alice@localhost', password: 'wrong' });
  assert.equal(denied.status, 302);
  assert.equal(new URLSearchParams(new URL(denied.headers.get('location')!).hash.slice(1)).get('error'), 'access_denied');

  const elsewhere = await fetch(`${base}/oauth/authorize?response_type=token&client_id=panel&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&scope=x`, { redirect: 'manual' });
  assert.equal(elsewhere.status, 400, 'never redirected to an unregistered address');
  assert.equal((await fetch(`${base}/oauth/authorize?client_id=nobody`)).status, 400);
  assert.equal((await parley.api('oauth_add_client_implicit', { client_id: 'x', client_name: 'x', redirect_uri: 'javascript:alert(1)' })).status, 400);
});

test("apiPermissions: a rule's who: {oauth: {scope}} lets tokens with that scope run what it names, even for a non-admin account", async () => {
  const p = await startParley({
    apiPermissions: {
      'admin access': { from: ['http'], who: 'admin', what: ['*'] },
      'reporting tokens': { from: ['http'], who: { oauth: { scope: ['registered_users'] } }, what: ['registered_users'] },
    },
  });
  try {
    await p.register('dora');
    const { token } = (await p.api('oauth_issue_token', { jid: 'dora@localhost', ttl: 60, scopes: 'registered_users;connected_users_number' })).body;
    const call = (command: string, args: Record<string, unknown>) =>
      fetch(`http://127.0.0.1:${p.ports.http}/api/${command}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(args) });
    const allowed = await call('registered_users', { host: 'localhost' });
    assert.equal(allowed.status, 200);
    assert.deepEqual(((await allowed.json()) as string[]).sort(), ['admin', 'dora']);
    // In the token's scopes but in no rule for a non-admin: refused.
    assert.equal((await call('connected_users_number', {})).status, 403);
    // The same account with its password is no admin: the rule is for tokens only.
    assert.equal((await p.api('registered_users', { host: 'localhost' }, 'dora@localhost:dorapw')).status, 403);
  } finally {
    await p.close();
  }
});
