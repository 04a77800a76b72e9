/**
 * Import rules of src/ (guide principles 5 and 7), checked in `npm test` by test/architecture.test.ts.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycle in src/ among imports that remain at run time.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-type-cycle',
      severity: 'error',
      comment: 'No cycle of type imports either: the transports, streams and admin surfaces take a narrow host interface of their own (StreamHost, AdminHost, ListenerHost), never the Server type of the composition root.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'module-internals',
      severity: 'error',
      comment: "A feature module reaches another only through that module's public entry, its index.ts.",
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'feature-internals',
      severity: 'error',
      comment: "Code outside the modules uses a module's index.ts, or its store.ts (the interface storage backends implement).",
      from: { path: '^src/', pathNot: '^src/modules/' },
      to: { path: '^src/modules/[^/]+/', pathNot: '^src/modules/[^/]+/(index|store)\\.ts$' },
    },
    {
      name: 'modules-not-server',
      severity: 'error',
      comment: 'A module sees its context, never the server.',
      from: { path: '^src/modules/' },
      to: { path: '^src/server\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|test|bench)/' },
  },
};
