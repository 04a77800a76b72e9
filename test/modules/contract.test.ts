// The module contract's resolution rules, and the command registry's typing (the type checks
// below are checked by the compiler: `npm test` builds first, so a regression fails the suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineModule, setupOrder, type AnyModule } from '../../src/modules/module.js';
import { commandsIn, int, intResult, str } from '../../src/admin/define.js';
import { MODULES } from '../../src/server.js';

const mod = (name: string, ...dependencies: string[]): AnyModule => ({ name, summary: name, dependencies });
const names = (list: AnyModule[]) => list.map((m) => m.name);

test('modules are set up after their dependencies, otherwise in list order', () => {
  assert.deepEqual(names(setupOrder([mod('presence', 'roster', 'accounts'), mod('accounts'), mod('roster', 'accounts'), mod('ping')])), [
    'accounts',
    'roster',
    'presence',
    'ping',
  ]);
  // The server's own list is already in that order.
  assert.deepEqual(names(setupOrder(MODULES)), names([...MODULES]));
});

test('a missing dependency, a cycle and a module listed twice stop the start, naming them', () => {
  assert.throws(() => setupOrder([mod('roster', 'accounts')]), /module roster depends on accounts, which is not in the module list/);
  assert.throws(() => setupOrder([mod('a', 'b'), mod('b', 'c'), mod('c', 'a')]), /modules depend on each other in a cycle: a -> b -> c -> a/);
  assert.throws(() => setupOrder([mod('a'), mod('a')]), /module a is listed twice/);
});

test('command arguments and results are typed from their declaration', () => {
  const command = commandsIn<{ greeting: string }>();
  const def = command({
    name: 'typed', tags: [], policy: 'admin', desc: 'Typed arguments',
    args: [
      str('user', 'User name', 'user1'),
      int('count', 'How many', 2),
      { name: 'items', type: { list: { name: 'item', type: { tuple: [str('a', 'A field', 'x')] } } }, desc: 'Items', example: [{ a: 'x' }] },
    ],
    result: intResult('total'), resultExample: 3,
    exec: (args, ctx) => {
      const user: string = args.user;
      const count: number = args.count;
      const items: { a: string }[] = args.items;
      // @ts-expect-error: not a declared argument
      void args.other;
      // @ts-expect-error: count is a number
      const wrong: string = args.count;
      void wrong;
      return user.length + count + items.length + ctx.greeting.length;
    },
  });
  assert.equal(def.exec({ user: 'ab', count: 1, items: [{ a: 'x' }] }, { greeting: 'hi' }), 6);

  command({
    name: 'wrong_result', tags: [], policy: 'admin', desc: 'A result of the wrong type',
    args: [], result: intResult('n'), resultExample: 1,
    // @ts-expect-error: an integer result must be a number
    exec: () => 'text',
  });
  // @ts-expect-error: the result example is required, and of the result's type
  command({ name: 'no_example', tags: [], policy: 'admin', desc: 'No example', args: [], result: intResult('n'), exec: () => 1 });
  // @ts-expect-error: an argument has a description and an example
  command({ name: 'bare_arg', tags: [], policy: 'admin', desc: 'Bare', args: [str('user')], result: intResult('n'), resultExample: 1, exec: () => 1 });
});

test('a module sees only the services it declared', () => {
  defineModule({
    name: 'needs_accounts',
    summary: 'test',
    dependencies: ['accounts'],
    setup(ctx) {
      void ctx.services.accounts;
      // @ts-expect-error: roster is not a declared dependency
      void ctx.services.roster;
    },
  });
  // @ts-expect-error: a module named in the service map returns that service
  defineModule({ name: 'roster', summary: 'test', dependencies: ['accounts'], setup: () => undefined });
});
