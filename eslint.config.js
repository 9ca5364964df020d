import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers' import rules (ARCHITECTURE.md says why). ESLint checks static imports as they are
 * written; test/architecture/boundaries.test.ts checks the folder graph, `import()` included.
 */
const ioModules = ['fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'dgram', 'child_process']
	.flatMap(name => [name, `node:${name}`]);
const pure = {
	paths: [...ioModules, 'execa', 'lowdb', 'proper-lockfile'].map(name => ({name, message: 'A pure folder does no IO: take a port as a parameter instead.'})),
	patterns: [{regex: String.raw`(^|/)home\.js$`, message: 'A pure folder does not reach for the home (an IO shell): take what it needs as a parameter.'}],
};
const faces = ['commands', 'api', 'ui', 'mcp', 'demo'];
const otherFaces = face => ({
	patterns: [{
		regex: String.raw`^\.\./(${faces.filter(other => other !== face).join('|')})/`,
		message: 'A face (CLI commands, REST API, console, MCP, demo) does not import another face: move the shared logic into a use case.',
	}],
});


/**
 * Rules that need the type checker, on source/ and agent/ (the code that ships). Each catches a
 * bug the untyped rules cannot see, and test/architecture/typed-lint.test.ts proves each one
 * flags its fixture. Chosen by measuring every typed rule on the tree: these had 0–1 findings.
 * Left off, with their findings then: require-await (21: methods that are async to implement a
 * Promise-returning port; dropping `async` would turn their throws into synchronous ones),
 * no-unnecessary-condition (33), no-base-to-string (4, all deliberate `String(unknown)` in
 * messages), restrict-template-expressions and strict-boolean-expressions (hundreds, style).
 */
export const typedRules = {
	// A promise nobody awaits: its rejection is lost and the work races what follows.
	'@typescript-eslint/no-floating-promises': 'error',
	// An async function where a void callback or a condition is expected (forEach, event handlers).
	'@typescript-eslint/no-misused-promises': 'error',
	// `await` on something that is not a promise, e.g. an array of promises instead of Promise.all.
	'@typescript-eslint/await-thenable': 'error',
	// `return promise` inside try: its rejection skips the catch and the finally runs too early.
	'@typescript-eslint/return-await': ['error', 'in-try-catch'],
	// A switch over a union without a default must name every member: a new event kind is not ignored silently.
	'@typescript-eslint/switch-exhaustiveness-check': ['error', {considerDefaultExhaustiveForUnions: true}],
	// Only Errors are thrown or rejected (XiError carries the code; a string has no stack).
	'@typescript-eslint/only-throw-error': 'error',
	'@typescript-eslint/prefer-promise-reject-errors': 'error',
	// A method taken off its object loses `this`.
	'@typescript-eslint/unbound-method': 'error',
	'@typescript-eslint/no-for-in-array': 'error',
	'@typescript-eslint/no-array-delete': 'error',
	'@typescript-eslint/no-implied-eval': 'error',
	// A cast to the type the expression already has: it says nothing, and once the type changes it
	// hides the change (`body as ReplyBody` keeps compiling when body no longer is one). Autofixable.
	'@typescript-eslint/no-unnecessary-type-assertion': 'error',
};

export default tseslint.config(
	{ignores: ['dist/', '.cache/', 'node_modules/', 'media/', 'coverage/', '.scratch/', 'test/architecture/typed-lint/']},
	js.configs.recommended,
	...tseslint.configs.strict,
	{
		languageOptions: {globals: globals.node},
		rules: {
			'no-control-regex': 'off',
			'@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
			'@typescript-eslint/no-non-null-assertion': 'off',
		},
	},
	{
		// Modules and functions are at their targets: 300 and 80 lines of code (ARCHITECTURE.md, Sizes).
		files: ['source/**/*.{ts,tsx}', 'agent/**/*.ts'],
		rules: {
			'max-lines': ['error', {max: 300, skipBlankLines: true, skipComments: true}],
			'max-lines-per-function': ['error', {max: 80, skipBlankLines: true, skipComments: true}],
		},
	},
	{
		// The typed pass covers what ships; tests, bench and scripts stay untyped (measured: typing
		// them too costs a quarter more CPU, and the promise rules found nothing there). tsconfig.build.json is the program of
		// source/ and agent/ only, cheaper than the project service's program of the whole tree.
		files: ['source/**/*.{ts,tsx}', 'agent/**/*.ts'],
		languageOptions: {parserOptions: {project: './tsconfig.build.json', tsconfigRootDir: import.meta.dirname}},
		rules: typedRules,
	},
	{
		files: ['agent/**/*.ts'],
		rules: {
			'no-restricted-imports': ['error', {patterns: [{
				regex: String.raw`/source/(commands|api|ui|mcp|demo|dispatch)/|/source/home\.js$`,
				message: 'The agent imports only shared modules (protocol, pki, policy, audit, io, errors, the CLI runner), never the controller\'s faces, dispatch or home.',
			}]}],
		},
	},
	{files: ['source/{protocol,pki,policy,registry,output,run}/**/*.ts'], rules: {'no-restricted-imports': ['error', pure]}},
	...faces.map(face => ({files: [`source/${face}/**/*.{ts,tsx}`], rules: {'no-restricted-imports': ['error', otherFaces(face)]}})),
);
