import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/fixtures/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A variable assigned once but read by a closure made before the assignment stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Flags the reset of a loop counter that the next iteration reads; tsc already reports dead stores that matter.
      'no-useless-assignment': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  { files: ['test/admin/dashboard.browser.test.ts'], languageOptions: { globals: { ...globals.browser } } },
);
