import {execFile} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import test from 'ava';

const probe = fileURLToPath(new URL('helpers/colour-probe.tsx', import.meta.url));

type Probe = {theme: Record<string, string | null>; phases: Record<string, string | null>; frames: string[]};

/** theme.ts reads NO_COLOR when first imported: each case is a fresh process. Colours are forced on, so only NO_COLOR can take them away. */
async function probeWith(environment: Record<string, string>): Promise<Probe> {
	const {NO_COLOR: _unset, ...inherited} = process.env;
	const {stdout} = await promisify(execFile)(process.execPath, ['--import=tsx', probe], {env: {...inherited, FORCE_COLOR: '1', ...environment}, encoding: 'utf8'});
	return JSON.parse(stdout) as Probe;
}

/** SGR colour codes: foreground 30–37, 90–97, 38;…; background 40–47, 100–107, 48;…. */
const colour = /\u001B\[(?:3[0-8]|9[0-7]|4[0-8]|10[0-7])[;m]/;

test('NO_COLOR: no colour at all, only bold and inverse (the selection stays visible)', async t => {
	const {theme, phases, frames} = await probeWith({NO_COLOR: '1'});
	t.deepEqual(Object.values(theme), [null, null, null, null, null, null]);
	t.true(Object.values(phases).every(value => value === null));
	for (const frame of frames) {
		t.false(colour.test(frame), JSON.stringify(frame));
	}

	t.true(frames[0]!.includes('\u001B[7m'), 'the selected row is in inverse video');
	t.true(frames[0]!.includes('\u001B[1m'), 'headers are bold');
	// Without colour each state still reads at a glance: a symbol and a word.
	t.true(frames[1]!.includes('✗ failed (exit 3)'));
	t.true(frames[1]!.includes('✓ ok'));
	t.true(frames[2]!.includes('Press any key to go back.'));
});

test('without NO_COLOR (or with it empty), statuses are coloured by meaning', async t => {
	for (const environment of [{}, {NO_COLOR: ''}] as Array<Record<string, string>>) {
		const {theme, phases, frames} = await probeWith(environment);
		t.deepEqual(theme, {accent: 'cyan', dim: 'gray', good: 'green', bad: 'red', warn: 'yellow', info: 'blue'});
		t.like(phases, {ok: 'green', reachable: 'green', failed: 'red', error: 'red', unreachable: 'red', denied: 'yellow', timeout: 'yellow', cancelled: 'yellow', running: 'blue', connecting: 'blue', checking: 'blue', skipped: 'gray', queued: 'gray'});
		t.true(frames[0]!.includes('\u001B[31munreachable'), 'an unreachable agent is red');
		t.true(frames[1]!.includes('\u001B[31m✗ failed (exit 3)'), 'a failed host is red');
		t.true(frames[1]!.includes('\u001B[32m✓ ok'), 'an ok host is green');
		t.true(frames[2]!.includes('\u001B[90mPress any key'), 'the help\'s last line is dim');
	}
});
