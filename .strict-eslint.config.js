import tseslint from 'typescript-eslint';
import base from '/work/wt-house/eslint.config.js';
export default [
	...base,
	...tseslint.configs.strictTypeChecked.map(config => ({...config, files: ['source/**/*.{ts,tsx}', 'agent/**/*.ts']})),
	{files: ['source/**/*.{ts,tsx}', 'agent/**/*.ts'], languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: '/work/wt-house'}}},
];
