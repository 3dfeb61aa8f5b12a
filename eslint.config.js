// ESLint: typescript-eslint's recommended rules, plus the package boundaries of ARCHITECTURE.md:
// vmbus and hypervisor import nothing of the project (the worker bootstrap aside), root and child
// partitions never import each other, and nobody reaches into another package's src/.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noDeepImports = { group: ['@viridian/*/src/*', '@viridian/*/src'], message: 'Import a package through its index.' };
const boundary = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [noDeepImports, ...forbidden.map((name) => ({ group: [name, `${name}/*`], message: `${name} is across a package boundary (ARCHITECTURE.md).` }))] },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bench/results/', '**/fixtures/*.js', '**/fixtures/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  boundary(['packages/vmbus/**'], ['@viridian/hypervisor', '@viridian/root-partition', '@viridian/child-partition']),
  boundary(['packages/hypervisor/**'], ['@viridian/vmbus', '@viridian/root-partition', '@viridian/child-partition']),
  boundary(['packages/root-partition/**'], ['@viridian/child-partition']),
  boundary(['packages/child-partition/**'], ['@viridian/root-partition']),
  boundary(['packages/worker-bootstrap/**'], ['@viridian/vmbus', '@viridian/hypervisor', '@viridian/root-partition', '@viridian/child-partition']),
);
