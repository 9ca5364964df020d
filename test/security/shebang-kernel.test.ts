/**
 * The agent reads a `#!` line as the kernel does (agent/shebang.ts readHeader), checked against
 * the kernel itself: each row's bytes are written to a file, which the kernel executes (execv from
 * python3: unlike execvp, it does not hand a file the kernel refused to /bin/sh), and whose
 * interpreter `show` prints the arguments it got. `show\r` beside it is a decoy: what the kernel
 * runs for a CRLF line.
 *
 * Each row asserts what readHeader makes of the line and what the kernel did with it; wherever
 * the agent accepts a line, the kernel ran the same interpreter with the same argument. Then
 * (root, as the agent runs in production) a real agent runs every row: an accepted one gives
 * `show` the same arguments as the kernel did (the script as /proc/self/fd/N instead of its path),
 * a refused one is refused with the exact reason and a `run.refused` line in the audit log, read
 * back with jq. Rows marked `old` failed on the agent before it read the line as the kernel does
 * (the no-newline rows ending in blanks: before it refused them, as kernels differ there).
 */
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {readHeader, type Header} from '../../agent/shebang.js';
import {baseDirectory, executable, runOn, tableAgent, type TableAgent} from './agent-run.js';

const directory = baseDirectory('xi-exec-shebang-kernel-');
const show = executable(join(directory, 'show'), '#!/bin/sh\nprintf \'%s\\0\' "$@"\n');
executable(join(directory, 'show\r'), '#!/bin/sh\nprintf \'a decoy\\0\'\n');

type Row = {name: string; title: string; line: Buffer; header: Exclude<Header, {kind: 'elf'}>; kernel: string[] | string; old?: true};

const b = (text: string) => Buffer.from(text, 'utf8');
const script = (interpreter: string, argument?: string): Row['header'] => ({kind: 'script', interpreter, ...(argument === undefined ? {} : {argument})});
const unknown = (reason: string): Row['header'] => ({kind: 'unknown', reason});
const control = (code: string) => unknown(`a script whose #! line holds a control character (U+${code}); write the line without one`);
const crlf = (kept: string) => unknown(`a script whose #! line ends in a carriage return (a CRLF line ending), which the kernel keeps: it would ${kept}; end the line with a newline alone (dos2unix)`);
const eofBlanks = unknown('a script whose #! line ends in spaces or tabs with no newline after them, which kernels read differently (Linux 6.18 passes them as an argument, a kernel with "Trim zero bytes from i_end" drops them); end the line with a newline');
const nul = unknown('a script whose #! line holds a NUL byte, where the kernel stops reading the interpreter or its argument; write the line without one');
/** `#!S ` and an argument of `a`s, then `tail`, so that the file is `total` bytes long. */
const padded = (total: number, tail: string) => b(`#!${show} ${'a'.repeat(total - 3 - show.length - tail.length)}${tail}`);
const as = (total: number) => 'a'.repeat(total - 3 - show.length);

/** The file is the row's `line`; `kernel` is the arguments `show` got (its script's path last, left off here), or the kernel's error, or the decoy's word. */
const rows: Row[] = [
	{name: 'plain', title: 'a plain line', line: b(`#!${show}\necho\n`), header: script(show), kernel: []},
	{name: 'argument', title: 'one argument', line: b(`#!${show} -x\n`), header: script(show, '-x'), kernel: ['-x']},
	{name: 'blanks', title: 'blanks around, blanks inside kept, trailing blanks dropped', line: b(`#! \t${show} \t a  b \t \n`), header: script(show, 'a  b'), kernel: ['a  b']},
	{name: 'tab', title: 'a tab separates', line: b(`#!${show}\t-x\n`), header: script(show, '-x'), kernel: ['-x']},
	{name: 'no-newline', title: 'no newline at the end of a short file', line: b(`#!${show}`), header: script(show), kernel: []},
	{name: 'eof-blanks', title: 'no newline: trailing blanks stay in the argument here, kernels differ: refused', line: b(`#!${show} -x  `), header: eofBlanks, kernel: ['-x  '], old: true},
	{name: 'eof-empty', title: 'no newline: blanks alone after the interpreter are an empty argument here, kernels differ: refused', line: b(`#!${show}   `), header: eofBlanks, kernel: [''], old: true},
	{name: 'eof-tab', title: 'no newline: a tab at the end, refused', line: b(`#!${show}\t`), header: eofBlanks, kernel: [''], old: true},
	{name: 'eof-255', title: 'no newline in a 255-byte file: the kernel drops its trailing blanks; refused all the same', line: padded(255, '  '), header: eofBlanks, kernel: [as(253)], old: true},
	{name: 'eof-254', title: 'no newline in a 254-byte file: its trailing blanks stay here (the kernel reads zero padding); refused', line: padded(254, '  '), header: eofBlanks, kernel: [`${as(252)}  `], old: true},
	{name: 'line-255', title: 'a line of 255 bytes, then the newline', line: padded(256, '\n'), header: script(show, as(255)), kernel: [as(255)]},
	{name: 'line-256', title: 'a line of 256 bytes: the kernel cuts the argument, the agent refuses', line: padded(257, '\n'), header: unknown('its #! line is longer than 255 bytes'), kernel: [as(255)]},
	{name: 'long-interpreter', title: 'an interpreter path cut at 256 bytes: the kernel refuses too', line: b(`#!/${'a'.repeat(300)}\n`), header: unknown('its #! line is longer than 255 bytes'), kernel: 'ENOEXEC'},
	{name: 'crlf', title: 'a CRLF line: the kernel runs `show\\r`', line: b(`#!${show}\r\necho\r\n`), header: crlf(`look for the interpreter ${JSON.stringify(`${show}\r`)}`), kernel: 'a decoy', old: true},
	{name: 'crlf-argument', title: 'a CRLF line with an argument: the kernel passes `-x\\r`', line: b(`#!${show} -x\r\n`), header: crlf(`give ${show} the argument "-x\\r"`), kernel: ['-x\r'], old: true},
	{name: 'cr-blanks', title: 'a carriage return, then blanks: only the blanks are dropped', line: b(`#!${show}\r \t\n`), header: crlf(`look for the interpreter ${JSON.stringify(`${show}\r`)}`), kernel: 'a decoy', old: true},
	{name: 'cr-inside', title: 'a carriage return inside the argument', line: b(`#!${show} a\rb\n`), header: control('000D'), kernel: ['a\rb']},
	{name: 'nul-after', title: 'a NUL after the interpreter: the kernel stops there, no argument', line: b(`#!${show}\u0000 -x\n`), header: nul, kernel: [], old: true},
	{name: 'nul-argument', title: 'a NUL in the argument: the kernel cuts it there', line: b(`#!${show} -x\u0000y\n`), header: nul, kernel: ['-x'], old: true},
	{name: 'vertical-tab', title: 'a vertical tab is not a blank to the kernel', line: b(`#!${show}\u000B-x\n`), header: control('000B'), kernel: 'ENOENT'},
	{name: 'empty', title: 'nothing after #!', line: b('#!\n'), header: unknown('its #! line names no interpreter'), kernel: 'ENOEXEC'},
	{name: 'only-blanks', title: 'blanks alone after #!', line: b('#! \t \n'), header: unknown('its #! line names no interpreter'), kernel: 'ENOEXEC'},
];

const files = new Map(rows.map(row => [row.name, executable(join(directory, row.name), '')]));
for (const row of rows) {
	execFileSync('sh', ['-c', 'cat > "$0"', files.get(row.name)!], {input: row.line});
}

/** What the kernel does with the file: the arguments `show` got, the decoy's word, or execv's error. */
function kernelRuns(file: string): string[] | string {
	const runner = 'import errno, os, sys\ntry:\n    os.execv(sys.argv[1], [sys.argv[1]])\nexcept OSError as error:\n    sys.stdout.write("error " + errno.errorcode[error.errno])\n';
	const output = execFileSync('python3', ['-c', runner, file], {encoding: 'utf8'});
	if (output.startsWith('error ')) {
		return output.slice('error '.length);
	}

	const words = output.split('\u0000').slice(0, -1);
	return words[0] === 'a decoy' ? 'a decoy' : words;
}

for (const row of rows) {
	test(`${row.title}: the agent's reading, and the kernel's`, t => {
		const file = files.get(row.name)!;
		t.deepEqual(readHeader(row.line.subarray(0, 256)), row.header);
		const kernel = kernelRuns(file);
		t.deepEqual(kernel, typeof row.kernel === 'string' ? row.kernel : [...row.kernel, file]);
		if (row.header.kind === 'script') {
			t.is(row.header.interpreter, show, 'the interpreter the kernel ran');
			t.deepEqual(kernel, [...(row.header.argument === undefined ? [] : [row.header.argument]), file], 'the argument the kernel gave it');
		}
	});
}

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.skip;
let target: TableAgent | undefined;
test.before(async () => {
	if (isRoot) {
		target = await tableAgent('sk1', Object.fromEntries(rows.map(row => [row.name, {path: files.get(row.name)!}])));
	}
});

test.after.always(async () => {
	await target?.running.stop();
});

function auditByJq(requestId: string): Array<Record<string, unknown>> {
	const text = execFileSync('jq', ['-c', `select(.requestId == ${JSON.stringify(requestId)})`, agentPaths(target!.agent.home).auditLog], {encoding: 'utf8'});
	return text.split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>);
}

for (const row of rows) {
	rootTest(`${row.title}: a real agent ${row.header.kind === 'script' ? 'runs it as the kernel did' : 'refuses it, with a run.refused record'}`, async t => {
		const outcome = await runOn(target!, row.name);
		if (row.header.kind === 'script') {
			t.is(outcome.status, 'ok', outcome.reason);
			const words = outcome.stdout.split('\u0000').slice(0, -1);
			t.deepEqual(words.slice(0, -1), row.kernel, 'show got the kernel\'s argument');
			t.regex(words.at(-1) ?? '', /^\/proc\/self\/fd\/\d+$/, 'and the script by its descriptor');
			return;
		}

		const reason = `script ${row.name} is refused: ${files.get(row.name)!} is ${row.header.reason}`;
		t.like(outcome, {status: 'denied', reason, stdout: ''});
		t.deepEqual(outcome.events, ['request.received', 'run.refused'], 'refused at the execution boundary');
		t.like(auditByJq(outcome.records[0]!['requestId'] as string).at(-1), {event: 'run.refused', script: row.name, status: 'denied', reason}, 'the audit line, as jq reads it');
	});
}
