// `make lint`: typescript-eslint, plus the layering of src/ (ARCHITECTURE.md) as import rules.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, bottom first. A module may import from its own layer and the ones below,
 * never from a layer above. Within a layer, folders named together may use each other.
 */
const LAYERS = [
  ['generated', 'config.ts', 'project.ts'],
  ['domain'],
  ['db', 'ml'],
  ['queue', 'auth'],
  ['chat', 'gateway', 'recommender'],
  ['presenters'],
  ['streams'],
  ['http'],
  ['handlers'],
  ['app.ts', 'service.ts', 'server.ts', 'worker.ts', 'workers.ts', 'cli'],
];

const at = (entry) => `./src/${entry}`;
const upward = LAYERS.slice(0, -1).flatMap((layer, index) =>
  layer.map((entry) => ({
    target: at(entry),
    from: LAYERS.slice(index + 1).flat().map(at),
    message: `${entry} sits below these in the layering (ARCHITECTURE.md); move the shared piece down instead.`,
  })),
);

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'clients/typescript/dist/', 'src/generated/', 'clients/typescript/src/generated/', 'console/dist/', 'coverage/', '.bench-work/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...upward,
            { target: './src/handlers', from: './src/handlers', message: 'Handlers never import handlers: move what they share into presenters, domain or a service.' },
            { target: './src/db', from: './src/ml', message: 'db and ml stay independent: the recommender joins them.' },
            { target: './src/ml', from: './src/db', message: 'db and ml stay independent: the recommender joins them.' },
          ],
        },
      ],
    },
  },
  {
    // The console is a client like any other: it reaches the service through the SDK only.
    files: ['console/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [{ target: './console', from: './src', message: 'The console calls the API through @portico/client, never the service code.' }] }],
    },
  },
  {
    // Kysely's convention: a migration sees the database as it was then, untyped.
    files: ['src/db/migrations/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Type tests: values exist only to be checked by the compiler (@ts-expect-error and assignments).
    files: ['test/types/**/*.ts', 'clients/typescript/test/types.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    files: ['**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
