/**
 * The selector grammar through the real CLI: `@FILE`, `-` (standard input), `--exclude`, ranges,
 * and its errors in plain and --json mode. The registry holds agents that are not running (their
 * address refuses connections at once): selection happens before anyone is dialled, and
 * `agents --json` lists what was selected whether it answers or not.
 */
import {spawn} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {addAgent} from '../../source/registry/model.js';
import {controllerCli, createController, temporaryDirectory, type CliResult} from '../helpers/fleet.js';

let home: string;
let files: string;

test.before(async () => {
	home = await createController();
	files = temporaryDirectory('xi-exec-selectors-');
	const names = [...Array.from({length: 12}, (_, i) => `web${String(i + 1).padStart(2, '0')}`), 'db1', 'db2', 'db3'];
	await openControllerRegistry(controllerPaths(home)).update(registry => names.reduce((current, name, index) => addAgent(current, {
		name,
		// Port 1 on loopback: refused at once.
		address: '127.0.0.1:1',
		tags: {role: name.startsWith('web') ? 'web' : 'db', env: index % 2 === 0 ? 'production' : 'staging'},
		serial: (index + 1).toString(16).padStart(2, '0'),
		fingerprint: 'f'.repeat(64),
		certificateExpires: new Date(Date.now() + 86_400_000 * 300).toISOString(),
		pairedAt: new Date().toISOString(),
	}), registry));
	writeFileSync(join(files, 'incident.txt'), '# incident 4711\nweb[01-03]   # the first rack\n\ndb1 db2\n!web02\n');
	writeFileSync(join(files, 'bad.txt'), 'web01\nweb[3-1]\n');
	writeFileSync(join(files, 'maintenance.txt'), 'web0[1-5]  # patched on Tuesday\n');
});

function xiExec(args: string[], stdin = ''): Promise<CliResult> {
	const child = spawn(process.execPath, [controllerCli, ...args], {env: {...process.env, XI_EXEC_HOME: home}, stdio: ['pipe', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	child.stdin.end(stdin);
	return new Promise(resolve => child.on('close', code => resolve({code, stdout, stderr})));
}

async function selected(t: import('ava').ExecutionContext, args: string[], stdin = ''): Promise<string[]> {
	const result = await xiExec(['agents', '--json', '--timeout', '1', ...args], stdin);
	t.is(result.code, 0, result.stderr);
	return (JSON.parse(result.stdout) as {agents: Array<{name: string}>}).agents.map(agent => agent.name);
}

const selections: Array<{args: string[]; stdin?: string; names: string[]}> = [
	{args: ['--on', 'web[01-04]', '--exclude', 'web03'], names: ['web01', 'web02', 'web04']},
	{args: ['--on', 'web[10-12],db[2-3]'], names: ['db2', 'db3', 'web10', 'web11', 'web12']},
	{args: ['--on', '@INCIDENT'], names: ['db1', 'db2', 'web01', 'web03']},
	{args: ['--on', 'role=db', '--on', '-'], stdin: 'web12\n# and nothing else\n', names: ['db1', 'db2', 'db3', 'web12']},
	{args: ['--on', 'role=web,env=prod*', '--exclude', '@MAINTENANCE'], names: ['web07', 'web09', 'web11']},
	{args: ['--exclude', 'web*'], names: ['db1', 'db2', 'db3']},
	{args: ['--on', 'db*', '--on', '!db2'], names: ['db1', 'db3']},
];

for (const c of selections) {
	test(`agents ${c.args.join(' ')}${c.stdin ? ' (stdin)' : ''}`, async t => {
		const args = c.args.map(arg => arg.replace(/@([A-Z]+)/, (_, name: string) => `@${join(files, `${name.toLowerCase()}.txt`)}`));
		t.deepEqual((await selected(t, args, c.stdin)).sort(), c.names);
	});
}

const refusals: Array<{args: string[]; code: string; message: string}> = [
	{args: ['--on', 'web[5-3]'], code: 'SELECTOR_INVALID', message: '--on: selector "web[5-3]", at position 5: the range 5-3 runs downwards; write 3-5.'},
	{args: ['--on', 'all', '--exclude', 'web99'], code: 'SELECTOR_INVALID', message: '--on !web99 matches no registered agent, so it would remove nothing; check the spelling (`xi-exec agents` lists the 15).'},
	{args: ['--on', 'web[13-20]'], code: 'NO_TARGETS', message: '--on web[13-20] matches no registered agent (15 registered; `xi-exec agents` lists them).'},
	{args: ['--on', 'role=web', '--exclude', 'role=*'], code: 'NO_TARGETS', message: '--on role=web --on !role=* matches no registered agent (15 registered; `xi-exec agents` lists them).'},
	{args: ['--on', '@BAD'], code: 'SELECTOR_INVALID', message: 'BAD line 2: selector "web[3-1]", at position 5: the range 3-1 runs downwards; write 1-3.'},
	{args: ['--on', '@MISSING'], code: 'SELECTOR_INVALID', message: 'Cannot read the selector file MISSING: ENOENT.'},
	{args: ['--on', 'web01', '--exclude', '!web02'], code: 'SELECTOR_INVALID', message: '--exclude: "!web02": --exclude already removes; drop the "!".'},
];

for (const c of refusals) {
	for (const json of [false, true]) {
		test(`run ${c.args.join(' ')}${json ? ' --json' : ''} is refused with ${c.code}`, async t => {
			const path = (name: string) => join(files, name.toLowerCase() + '.txt');
			const args = c.args.map(arg => arg.replace(/(BAD|MISSING)/, name => path(name)));
			const message = c.message.replace(/(BAD|MISSING)/, name => path(name));
			const result = await xiExec(['run', 'hello', ...args, ...(json ? ['--json'] : [])]);
			t.is(result.code, 2);
			if (json) {
				t.is(result.stderr, '');
				t.deepEqual(JSON.parse(result.stdout), {error: {code: c.code, message, hint: (await import('../../source/errors.js')).errorCodes[c.code as 'USAGE'].summary}});
			} else {
				t.is(result.stdout, '');
				t.is(result.stderr, `xi-exec: ${message} (${c.code})\n`);
			}
		});
	}
}

test('run: names that are not registered get a note on stderr; the rest run (here: unreachable)', async t => {
	const result = await xiExec(['run', 'hello', '--on', 'web[01-02],web99', '--on', 'db1', '--exclude', 'db2', '--json']);
	t.is(result.code, 1);
	t.is(result.stderr, 'xi-exec: note: not registered, so not asked: web99.\nxi-exec: note: --on !db2 removed nothing: none of the agents it matches was selected.\n');
	const document = JSON.parse(result.stdout) as {results: Array<{agent: string; status: string}>};
	t.deepEqual(document.results.map(entry => [entry.agent, entry.status]), [['db1', 'unreachable'], ['web01', 'unreachable'], ['web02', 'unreachable']]);
});
