/**
 * The typed lint: source/ and agent/ are linted with type information, and each rule that needs
 * it (eslint.config.js, `typedRules`) flags a small fixture holding the bug it is there for:
 * test/architecture/typed-lint/RULE.ts, which the project's own lint ignores. A rule turned on
 * without a fixture, or a fixture whose rule is off, fails here.
 */
import {readdirSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {ESLint, type Linter} from 'eslint';
import tseslint from 'typescript-eslint';

const fixtures = 'test/architecture/typed-lint';
const fixtureRules = readdirSync(fixtures).filter(name => name.endsWith('.ts')).map(name => `@typescript-eslint/${name.slice(0, -3)}`).sort();

type RuleMeta = {meta?: {docs?: {requiresTypeChecking?: boolean}}};
const pluginRules = (tseslint.plugin as {rules?: Record<string, RuleMeta>}).rules ?? {};
const needsTypes = (rule: string) => rule.startsWith('@typescript-eslint/')
	&& pluginRules[rule.slice('@typescript-eslint/'.length)]?.meta?.docs?.requiresTypeChecking === true;
const isOn = (setting: Linter.RuleEntry | undefined) => {
	const severity = Array.isArray(setting) ? setting[0] : setting;
	return severity !== undefined && severity !== 0 && severity !== 'off';
};

/** The config ESLint computes for a file, as far as this test reads it. */
type FileConfig = {rules?: Record<string, Linter.RuleEntry>; languageOptions?: {parserOptions?: {project?: unknown}}};

async function typedRulesFor(file: string): Promise<{rules: Record<string, Linter.RuleEntry>; project: unknown}> {
	const config = await new ESLint().calculateConfigForFile(file) as FileConfig;
	const rules = Object.fromEntries(Object.entries(config.rules ?? {}).filter(([rule, setting]) => needsTypes(rule) && isOn(setting)));
	return {rules, project: config.languageOptions?.parserOptions?.project};
}

test('source/ and agent/ are linted with type information and every typed rule that has a fixture', async t => {
	t.true(fixtureRules.length >= 3, fixtureRules.join(', '));
	for (const file of ['source/cli.ts', 'source/ui/app.tsx', 'agent/cli.ts']) {
		const {rules, project} = await typedRulesFor(file);
		t.deepEqual(Object.keys(rules).sort(), fixtureRules, file);
		t.is(project, './tsconfig.build.json', file);
	}
});

test('tests, bench and scripts are linted without type information', async t => {
	for (const file of ['test/architecture/boundaries.test.ts', 'bench/fan-out.ts', 'scripts/media.ts']) {
		t.deepEqual(await typedRulesFor(file), {rules: {}, project: undefined}, file);
	}
});

test('each typed rule flags its fixture, and nothing else does', async t => {
	const {rules} = await typedRulesFor('source/cli.ts');
	const eslint = new ESLint({
		ignore: false,
		overrideConfig: {
			files: [`${fixtures}/*.ts`],
			languageOptions: {parserOptions: {project: join(fixtures, 'tsconfig.json'), tsconfigRootDir: process.cwd()}},
			rules,
		},
	});
	const results = await eslint.lintFiles([`${fixtures}/*.ts`]);
	const found = results.map(result => ({
		rule: `@typescript-eslint/${result.filePath.slice(result.filePath.lastIndexOf('/') + 1, -3)}`,
		flagged: [...new Set(result.messages.map(message => message.ruleId ?? message.message))],
	}));
	t.deepEqual(found, fixtureRules.map(rule => ({rule, flagged: [rule]})));
});
