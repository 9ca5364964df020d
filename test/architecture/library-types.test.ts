/**
 * The library entry has type declarations: a tiny TypeScript program outside this repository,
 * with `xi-exec` in its node_modules, type-checks against the built package (dist/source/index.d.ts,
 * which `exports` names), and a misuse of it fails with TypeScript's own error, so the types are
 * real and not `any`. TypeScript (tsc) does the checking.
 */
import {execFile} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';

const repoRoot = resolve(import.meta.dirname, '../..');
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

const consumer = `import {XiError, controllerPaths, errorCodes, listTokens, type AgentView, type ErrorCode} from 'xi-exec';

const code: ErrorCode = 'USAGE';
const error = new XiError(code, 'bad flag');
export const exit: number = errorCodes[error.code].exit;
export const names = async (): Promise<string[]> => (await listTokens({paths: controllerPaths('/srv/xi'), now: new Date()})).map(token => token.name);
export const line = (agent: AgentView): string => \`\${agent.name} \${agent.status} \${agent.lastSeen ?? 'never'}\`;
`;

async function typecheck(t: {teardown: (fn: () => void) => void}, source: string): Promise<{code: number; stdout: string}> {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-consumer-'));
	t.teardown(() => {
		rmSync(directory, {recursive: true, force: true});
	});
	mkdirSync(join(directory, 'node_modules'));
	symlinkSync(repoRoot, join(directory, 'node_modules/xi-exec'));
	symlinkSync(join(repoRoot, 'node_modules/@types'), join(directory, 'node_modules/@types'));
	writeFileSync(join(directory, 'package.json'), JSON.stringify({name: 'consumer', private: true, type: 'module'}));
	writeFileSync(join(directory, 'tsconfig.json'), JSON.stringify({compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node']}, files: ['consumer.ts']}));
	writeFileSync(join(directory, 'consumer.ts'), source);
	try {
		const {stdout} = await promisify(execFile)(process.execPath, [tsc, '-p', directory], {cwd: directory});
		return {code: 0, stdout};
	} catch (error) {
		const failed = error as {code: number; stdout: string};
		return {code: failed.code, stdout: failed.stdout};
	}
}

test('a TypeScript program using xi-exec type-checks against the built declarations', async t => {
	const answer = await typecheck(t, consumer);
	t.deepEqual(answer, {code: 0, stdout: ''});
});

test('a misuse of the library is a type error in the consumer', async t => {
	const answer = await typecheck(t, `${consumer}export const wrong = new XiError('NOT_A_CODE', 'x');\nexport const notANumber: string = errorCodes.USAGE.exit;\n`);
	t.is(answer.code, 2);
	t.regex(answer.stdout, /consumer\.ts\(8,\d+\): error TS2345: Argument of type '"NOT_A_CODE"' is not assignable to parameter of type /);
	t.regex(answer.stdout, /consumer\.ts\(9,14\): error TS2322: Type 'number' is not assignable to type 'string'\./);
});
