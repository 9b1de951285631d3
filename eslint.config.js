import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'data/**', '.tmp/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    // core imports nothing of ours (its tests reach their helpers through its own testing subpath)...
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(@tidings/(?!core/testing$)|\\.\\./\\.\\./)', message: 'core imports nothing of ours.' }] }],
    },
  },
  {
    // ...and only its test support and tests import vitest, so its main index never does.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts', 'packages/core/src/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vitest', message: 'test support goes in core/src/testing.' }], patterns: [{ regex: '^(@tidings/|\\.\\./\\.\\./)', message: 'core imports nothing of ours.' }] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // Scripts served to browsers (no build step).
    files: ['**/src/**/assets/*.js'],
    languageOptions: { globals: globals.browser },
  },
)
