// bouy's lint: ESLint with typescript-eslint's type-aware recommended rules over src/ and test/,
// the untyped recommended rules over the JavaScript (scripts/, test fixtures, the Docker dev
// runner), and an import cycle check over src/. The repository root's eslint.config.js
// re-exports this file; it lives here because typescript-eslint and TypeScript 6 (the compiler
// API it needs) are installed in this workspace, apart from the TypeScript 7 bouy builds with.
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = path.resolve(import.meta.dirname, '../..');

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'tools/lint/node_modules/', 'bench-results/', 'reports/', '.stryker-tmp/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          // Outside tsconfig.json's include, linted against the default options.
          allowDefaultProject: ['vitest.mutants.config.ts'],
        },
        tsconfigRootDir: root,
      },
    },
    rules: {
      // tsc checks this already (noUnusedLocals, noUnusedParameters), with the same `_` convention
      // and rest-sibling omission (`const { secret: _, ...shown } = x`) this code uses.
      '@typescript-eslint/no-unused-vars': 'off',
      // An async function without await is how this code implements a Promise-returning interface
      // (fastify handlers and hooks, processors, releasers, fakes in tests) so that a throw becomes
      // a rejection; dropping `async` would change that behaviour.
      '@typescript-eslint/require-await': 'off',
      // Rethrowing, or rejecting with, a caught value as it is is intended: wrapping it would change
      // what the caller sees. A literal that is not an Error is still refused.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Every finding was String() of an untyped value (a caught error, a CLI argument) that a
      // truthiness check narrowed to {}: String() is the intended formatter for those.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Tests read untyped data (HTTP and JSON bodies, YAML manifests, Redis hashes, child output)
    // and check its shape with expect(); typing every read would add casts, not safety.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The application template is compiled in the user's project, against the published bouy:
    // linted without types here (no tsconfig of this repository covers it).
    files: ['templates/**/*.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // No module of the product imports, through any chain, a module that imports it back.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Without these, import-x skips .ts files and finds no cycle at all.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Imports name the compiled file (./x.js); the source beside it is ./x.ts.
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
]);
