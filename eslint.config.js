// ESLint (flat config) with typescript-eslint's type-aware rules over every TypeScript tree we ship or run:
// src/, test/, scripts/, bench/ (tsconfig.json) and ui/ (ui/tsconfig.json, browser types). `npm run lint`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      // Generated or not ours: the build output, the generated OpenAPI documents, run output, the chart and
      // the systemd files (no TypeScript there), scratch folders.
      'dist/',
      'openapi/',
      'bench/results/',
      'helm/',
      'contrib/',
      'docs/',
      'tmp/',
      // Copied by test/http/openapi-client.test.ts next to the api.d.ts it generates, and type-checked there;
      // in place its import of that generated file does not resolve (and no tsconfig includes a dot folder).
      'test/http/.openapi-client/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it (the root one, or ui/tsconfig.json).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The bugs a type checker does not catch: a promise nobody awaits or handles, a promise passed where a
      // callback's return is ignored (an event listener, a setInterval), a switch over a union missing a member.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return a promise that the runner itself tracks.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // verbatimModuleSyntax already requires `import type` for types; this makes the fix automatic.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Passing on a reason we were given (a caught `unknown`, an AbortSignal's reason) is not inventing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // Off: fastify handlers, hooks and injected connectors are async for their signature (they return a promise
      // to their caller) whether or not they await; a missing await that matters is caught by the rules above.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter kept for its position (a callback's signature).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // One generic function registers the routes of every settings resource, each with its own state type; the
    // resource declarations (src/resources) are typed, this registrar sees them through `any` on purpose.
    files: ['src/http/settings-routes.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Tests read response bodies as `any` (`res.json()`, parsed YAML, which the chart tests type as
    // `Record<string, any>`) and check them with assertions: the assertion is the type check there. The code under
    // test keeps these rules.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (this file): no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
