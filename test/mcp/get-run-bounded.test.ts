/**
 * MCP's get_run reads a stored run with only as much of each host's output as its answer shows
 * (history/read-lines.ts, foldRun's `keep`, results.ts keptOfEachStream), as the live path cuts
 * each host as it ends: the answer is the same as from the whole run, read whole (a table of
 * outputs: multi-byte and control characters, chunks, a cut inside a surrogate pair, hosts without
 * output or without a result, a torn last line); and a run of 160 hosts × 256 KiB (40 MiB of
 * output) is answered by a node whose heap is limited to 24 MiB, which holding the run whole
 * cannot do (counted by the heap limit, not timed).
 */
import {execFile} from 'node:child_process';
import {mkdirSync, writeFileSync, appendFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {findRun} from '../../source/history/run-store.js';
import type {HistoryLine} from '../../source/history/run-record.js';
import {keptOfEachStream, runToolResult} from '../../source/mcp/results.js';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';

const requestId = '00000000-0000-4000-8000-0000000000aa';

function writeRun(directory: string, targets: readonly string[], lines: (write: (line: HistoryLine) => void) => void, tail = ''): void {
	mkdirSync(directory, {recursive: true});
	const path = join(directory, `2026-01-01T00-00-00.000Z_${requestId}.jsonl`);
	writeFileSync(path, `${JSON.stringify({type: 'run', requestId, script: 'big', args: [], selector: ['all'], caller: 'mcp:t', startedAt: '2026-01-01T00:00:00.000Z', targets})}\n`);
	lines(line => appendFileSync(path, `${JSON.stringify(line)}\n`));
	appendFileSync(path, tail);
}

const result = (agent: string, status: 'ok' | 'failed' = 'ok') => ({type: 'result' as const, result: {agent, status, exitCode: status === 'ok' ? 0 : 1, signal: null, truncated: false, durationMs: 5}});
const output = (agent: string, data: string, stream: 'stdout' | 'stderr' = 'stdout') => ({type: 'output' as const, agent, stream, data});

function answers(directory: string, budget: number) {
	const answerOf = (run: ReturnType<typeof findRun>) => ({requestId, script: 'big', dryRun: false, cancelled: false, complete: run.complete, results: run.results});
	const whole = findRun(directory, requestId);
	const kept = findRun(directory, requestId, header => keptOfEachStream(budget, header.targets.length));
	return {whole: runToolResult(answerOf(whole), budget), kept: runToolResult(answerOf(kept), budget, kept.outputBytes)};
}

const outputs: Array<[string, string[]]> = [
	['plain text, more than the share', ['line one\n'.repeat(2000)]],
	['many small chunks', Array.from({length: 500}, (_, index) => `chunk ${index}\n`)],
	['multi-byte characters across the cut', ['é'.repeat(1500), 'ü'.repeat(1500)]],
	['control characters spelled out', ['\u001b[31mred\u001b[0m\r\n'.repeat(400)]],
	['a surrogate pair at the cut', ['x'.repeat(509), '😀'.repeat(800)]],
	['less than the share', ['ok\n']],
];

for (const [name, chunks] of outputs) {
	test(`the same answer as from the whole run: ${name}`, t => {
		const directory = join(temporaryDirectory(), 'runs');
		writeRun(directory, ['web1', 'web2', 'web3', 'web4'], write => {
			for (const chunk of chunks) {
				write(output('web1', chunk));
				write(output('web2', chunk, 'stderr'));
			}

			write(result('web1'));
			write(result('web2', 'failed'));
			// web3 printed and has no result (the controller stopped); web4 has neither.
			write(output('web3', chunks.join('')));
			write({type: 'end', endedAt: '2026-01-01T00:00:01.000Z'});
		}, '{"type":"output","agent":"web1","str');
		for (const budget of [4096, 65_536]) {
			const {whole, kept} = answers(directory, budget);
			t.deepEqual(kept, whole, `budget ${budget}`);
		}
	});
}

test('a run of 160 hosts × 256 KiB is answered within a 24 MiB heap', async t => {
	const home = temporaryDirectory();
	const directory = join(home, 'runs');
	const hosts = Array.from({length: 160}, (_, index) => `web${index + 1}`);
	const chunk = 'abcdefgh'.repeat(8192);
	writeRun(directory, hosts, write => {
		for (const host of hosts) {
			for (let part = 0; part < 4; part++) {
				write(output(host, chunk));
			}

			write(result(host));
		}

		write({type: 'end', endedAt: '2026-01-01T00:00:01.000Z'});
	});
	const script = `
		import {findRun} from ${JSON.stringify(join(repoRoot, 'source/history/run-store.ts'))};
		import {keptOfEachStream, runToolResult} from ${JSON.stringify(join(repoRoot, 'source/mcp/results.ts'))};
		const budget = 1_048_576;
		const run = findRun(${JSON.stringify(directory)}, ${JSON.stringify(requestId)}, header => keptOfEachStream(budget, header.targets.length));
		const answer = runToolResult({requestId: '', script: 'big', dryRun: false, cancelled: false, complete: run.complete, results: run.results}, budget, run.outputBytes);
		const first = answer.structuredContent.results[0];
		process.stdout.write(JSON.stringify({hosts: answer.structuredContent.results.length, bytes: first.stdoutBytes, shown: first.stdout.length, cut: first.outputTruncated}));
	`;
	const finished = await promisify(execFile)(process.execPath, ['--max-old-space-size=24', '--import=tsx', '--input-type=module', '-e', script], {cwd: repoRoot, maxBuffer: 1 << 20});
	t.deepEqual(JSON.parse(finished.stdout), {hosts: 160, bytes: 262_144, shown: 3276, cut: true});
});
