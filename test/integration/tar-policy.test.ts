/**
 * The real /usr/bin/tar behind the reference hook and a tar policy that forbids every option
 * that runs a program (`-I`, `--use-compress-program`, `--to-command`, `--checkpoint-action`...),
 * declared as tar parses options: each bypass attempt the review found or that neighbours one
 * (an attached value, a cluster ending in `I`, the dashless `cfI FILE PROG`, an abbreviation,
 * `--` that is an option's value) is denied with its reason and audit record, and the program
 * never runs; a benign `tar -cf FILE DIR` (and `--checkpoint=1`, an option of its own) is allowed.
 * With tar's own option table declared (`shortOptions`), a value that holds the letter I
 * (`-cf/tmp/.../Important.tar`) is allowed, and tar writing that archive shows it read it so.
 */
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCli, createController, enrolAgent, freePort, repoRoot, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';

const tarPath = '/usr/bin/tar';
const hasTar = existsSync(tarPath);
const runsProgram = ['-I', '-F', '--use-compress-program', '--to-command', '--checkpoint-action', '--info-script', '--new-volume-script', '--rsh-command', '--rmt-command'];
const policy = {rules: [
	{name: 'tar runs no program', effect: 'deny', callers: ['*'], scripts: ['tar'], args: {forbid: runsProgram, options: 'tar', longOptions: ['--checkpoint']}},
	{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['tar']},
]};

if (!hasTar) {
	test('the tar policy end to end: skipped', t => {
		t.log(`SKIPPED: ${tarPath} is not installed`);
		t.pass();
	});
}

/** One agent offering the real tar behind the reference hook and `policy`; `run` sends args and reads the result, the decision and whether tar ran. */
async function tarAgent(t: {teardown: (fn: () => Promise<void>) => void}, policy: unknown) {
	const work = temporaryDirectory('xi-exec-tar-');
	const data = join(work, 'data');
	mkdirSync(data);
	writeFileSync(join(data, 'file'), 'content\n');
	const marker = join(work, 'program-ran');
	const program = join(work, 'program');
	writeFileSync(program, `#!/bin/sh\ntouch ${marker}\ncat\n`);
	chmodSync(program, 0o755);

	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'tar1', port: freePort(), scripts: {tar: tarPath}});
	const paths = agentPaths(agent.home);
	writeFileSync(join(agent.home, 'policy.json'), JSON.stringify(policy), {mode: 0o600});
	const config = JSON.parse(readFileSync(paths.config, 'utf8')) as Record<string, unknown>;
	writeFileSync(paths.config, JSON.stringify({...config, hook: join(repoRoot, 'dist/agent/hooks/local-policy.js'), hookInterpreter: process.execPath, hookTimeoutMs: 30_000}), {mode: 0o600});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());

	const run = async (args: string[]) => {
		const result = await runCli(controllerCli, ['run', 'tar', '--on', 'tar1', '--json', '--', ...args], {XI_EXEC_HOME: controller});
		const document = JSON.parse(result.stdout) as {requestId: string; results: Array<{status: string; reason: string | null}>};
		const records = readFileSync(paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === document.requestId);
		return {result: document.results[0]!, decision: records.find(record => record['event'] === 'decision'), ran: records.some(record => record['event'] === 'run.start')};
	};

	return {work, data, marker, program, run};
}

(hasTar ? test : test.skip)('every way to make tar run a program is denied, and tar -cf FILE DIR is allowed', async t => {
	const {work, data, marker, program, run} = await tarAgent(t, policy);
	const out = join(work, 'out.tar');

	const denied = (hit: string) => `denied by rule "tar runs no program": ${hit}`;
	const attempts = [
		{args: ['-cf', out, '-I', program, data], reason: denied('-I (forbidden: -I)')},
		{args: ['-cf', out, `-I${program}`, data], reason: denied('-I (forbidden: -I)')},
		{args: ['-cf', out, `-Ish -c 'touch ${marker}'`, data], reason: denied('-I (forbidden: -I)')},
		{args: [`-cvI${program}`, '-f', out, data], reason: denied('-I (forbidden: -I)')},
		{args: ['cfI', out, program, data], reason: denied('-I (forbidden: -I)')},
		{args: ['-c', '-f', out, `--use-compress-program=${program}`, data], reason: denied(`"--use-compress-program=${program}" (forbidden: --use-compress-program)`)},
		{args: ['-c', '-f', out, `--use-compress=${program}`, data], reason: denied(`"--use-compress=${program}" (forbidden: --use-compress-program)`)},
		{args: ['-c', '-f', out, '--checkpoint=1', `--checkpoint-action=exec=${program}`, data], reason: denied(`"--checkpoint-action=exec=${program}" (forbidden: --checkpoint-action)`)},
		{args: ['-c', '-f', out, '--checkpoint=1', `--checkpoint-a=exec=${program}`, data], reason: denied(`"--checkpoint-a=exec=${program}" (forbidden: --checkpoint-action)`)},
		{args: ['-c', '-f', '--', `--to-command=${program}`, data], reason: denied(`"--to-command=${program}" (forbidden: --to-command)`)},
		// The first word's f takes `--` as the archive, so -I after it is an option (tar runs PROG).
		{args: ['cf', '--', '-I', program, data], reason: denied('-I (forbidden: -I)')},
	];
	for (const {args, reason} of attempts) {
		const outcome = await run(args);
		t.is(outcome.result.status, 'denied', JSON.stringify(args));
		t.is(outcome.result.reason, reason, JSON.stringify(args));
		t.like(outcome.decision, {allowed: false, reason}, JSON.stringify(args));
		t.false(outcome.ran, `${JSON.stringify(args)}: tar did not run`);
	}

	t.false(existsSync(marker), 'the program never ran');

	const benign = await run(['-cf', out, data]);
	t.is(benign.result.status, 'ok', JSON.stringify(benign.result));
	t.like(benign.decision, {allowed: true, reason: 'allowed by rule "operators"'});
	const checkpoint = await run(['-cf', out, '--checkpoint=1', data]);
	t.is(checkpoint.result.status, 'ok', 'an option of its own is not read as an abbreviation of --checkpoint-action');
	t.true(existsSync(out));
	t.false(existsSync(marker), 'the program never ran');
});

// GNU tar's option table (`tar --help`): the letters after which a value follows.
const tarShortOptions = 'ABC:F:GH:I:JK:L:MN:OPRST:UV:WX:Zab:cdf:g:hijklmnoprstuvwxz';
const tablePolicy = {rules: [
	{name: 'tar runs no program', effect: 'deny', callers: ['*'], scripts: ['tar'], args: {forbid: runsProgram, options: 'tar', shortOptions: tarShortOptions, longOptions: ['--checkpoint', '--file=']}},
	{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['tar']},
]};

(hasTar ? test : test.skip)('with tar\'s option table declared, a value holding a forbidden letter is allowed and tar reads it as that value', async t => {
	const {work, data, marker, program, run} = await tarAgent(t, tablePolicy);
	const denied = (hit: string) => `denied by rule "tar runs no program": ${hit}`;
	for (const args of [[`-cf${join(work, 'x.tar')}`, `-I${program}`, data], [`-cvI${program}`, '-f', join(work, 'x.tar'), data], ['cfI', join(work, 'x.tar'), program, data], ['-cf', '--', '-I', program, data], ['cf', '--', '-I', program, data]]) {
		const outcome = await run(args);
		t.is(outcome.result.reason, denied('-I (forbidden: -I)'), JSON.stringify(args));
		t.like(outcome.decision, {allowed: false, reason: denied('-I (forbidden: -I)')}, JSON.stringify(args));
		t.false(outcome.ran, `${JSON.stringify(args)}: tar did not run`);
	}

	// The neighbours that were over-blocked: I inside -f's value. tar itself then shows how it read them: as archive names.
	const important = join(work, 'Important.tar');
	for (const args of [[`-cf${important}`, data], [`-cvf${important}`, data], ['-c', '--file', important, data]]) {
		const outcome = await run(args);
		t.is(outcome.result.status, 'ok', `${JSON.stringify(args)}: ${JSON.stringify(outcome.result)}`);
		t.like(outcome.decision, {allowed: true, reason: 'allowed by rule "operators"'});
	}

	t.true(existsSync(important), 'tar wrote the archive the value names');
	t.false(existsSync(marker), 'the program never ran');
});
