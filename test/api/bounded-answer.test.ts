/**
 * The REST API's run answer does not grow with its hosts' output: POST /v1/runs with
 * `wait: true` feeds each event to the streamed answer (run-answer-stream.ts) and to the live
 * hub its event stream follows (run-events.ts), exactly as startPlan does, and once a result has
 * gone to the client neither keeps it. Counted, not timed (test/helpers/many-hosts-run.ts):
 * results alive after garbage collection, and bytes held, midway (all hosts but the last done)
 * and after the run. The answer as it was built before (the whole `run --json` text in one
 * string, every event in the hub) is measured the same way and holds every byte: the measure sees
 * what a face keeps. The document a slow client finally reads is checked by Ajv against the
 * published schema.
 */
import {Ajv2020} from 'ajv/dist/2020.js';
import test from 'ava';
import {createRunAnswerStream} from '../../source/api/run-answer-stream.js';
import {createLiveRuns} from '../../source/api/run-events.js';
import {runDocumentSchema, runEventSchema} from '../../source/api/schemas.js';
import {createJsonRunWriter} from '../../source/output/json-run.js';
import type {RunEvent} from '../../source/run/events.js';
import {outputBytes, runManyHosts} from '../helpers/many-hosts-run.js';

const ajv = new Ajv2020({strict: true, allowUnionTypes: true, formats: {'date-time': true}});
const checkEvent = ajv.compile(runEventSchema);
const checkDocument = ajv.compile(runDocumentSchema);
const requestId = '00000000-0000-4000-8000-000000000001';
const mib = 1024 * 1024;

/** The run's own times, as executePlan stamps them on the dispatcher's events. */
function stamped(event: RunEvent): RunEvent {
	if (event.type === 'run-started') {
		return {...event, startedAt: '2026-12-07T08:00:00.000Z'};
	}

	return event.type === 'run-finished' ? {...event, endedAt: '2026-12-07T08:00:01.000Z', durationMs: 1000} : event;
}

/** The two things startPlan feeds each event: the waited answer and the live hub. */
function apiFace(heldLimitBytes?: number) {
	const answer = createRunAnswerStream({check: event => (checkEvent(event) ? undefined : ajv.errorsText(checkEvent.errors)), ...(heldLimitBytes === undefined ? {} : {heldLimitBytes})});
	const live = createLiveRuns().begin({requestId, script: 'big', targets: []});
	const emit = (sent: RunEvent) => {
		const event = stamped(sent);
		answer.onEvent(event);
		live.emit(event);
	};

	return {answer, emit};
}

for (const hosts of [40, 400]) {
	test.serial(`${hosts} hosts of 64 KiB each, a client reading as they come: no result kept, a bounded number of bytes held`, async t => {
		const {answer, emit} = apiFace();
		let received = 0;
		let results = 0;
		answer.body.on('data', (chunk: Buffer) => {
			received += chunk.length;
			results += chunk.toString().split('\n{"agent":').length - 1;
		});
		const ended = new Promise(resolve => answer.body.once('end', resolve));
		const run = await runManyHosts(hosts, emit);
		answer.end();
		await ended;
		t.log(`${hosts} hosts: held midway ${(run.midway.heldBytes / mib).toFixed(1)} MiB, after ${(run.after.heldBytes / mib).toFixed(1)} MiB; ${(received / mib).toFixed(1)} MiB sent`);
		t.is(run.midway.aliveResults, 0);
		t.is(run.after.aliveResults, 0);
		t.true(run.midway.heldBytes < 4 * mib, `held midway: ${run.midway.heldBytes} bytes`);
		t.true(received > hosts * outputBytes, 'every byte went to the client');
		t.is(results, hosts);
		t.is(answer.omitted(), 0);
	});
}

test.serial('the measure sees what the answer held before: the whole text in one string, every event in the hub', async t => {
	let written = '';
	const writer = createJsonRunWriter(text => (written += text));
	const live = createLiveRuns();
	// The hub as it was: every event of the run kept for late followers.
	const kept: RunEvent[] = [];
	const hub = live.begin({requestId, script: 'big', targets: []});
	const run = await runManyHosts(400, event => {
		writer.onEvent(event);
		hub.emit(event);
		kept.push(event);
	});
	t.true(run.midway.aliveResults >= 399);
	t.true(run.midway.heldBytes > 399 * outputBytes, `held midway: ${run.midway.heldBytes} bytes`);
	t.true(written.length > 400 * outputBytes);
	t.is(kept.length > 0, true);
});

test.serial('a client that reads nothing: the server holds about the limit, later results go without their output, saying where it is', async t => {
	const limit = 1 * mib;
	const {answer, emit} = apiFace(limit);
	let heldMidway = 0;
	const run = await runManyHosts(100, emit, {
		async atMidway() {
			heldMidway = answer.body.readableLength;
		},
	});
	answer.end();
	t.true(heldMidway <= limit + (2 * outputBytes), `unread midway: ${heldMidway} bytes`);
	t.true(run.midway.heldBytes < limit + (4 * mib), `held midway: ${run.midway.heldBytes} bytes`);
	t.is(run.after.aliveResults, 0);
	const chunks: Buffer[] = [];
	for await (const chunk of answer.body) {
		chunks.push(chunk as Buffer);
	}

	const document = JSON.parse(Buffer.concat(chunks).toString()) as {results: Array<{agent: string; stdout: string; outputOmitted?: {stdoutBytes: number; stderrBytes: number; result: string}}>};
	t.true(checkDocument(document), ajv.errorsText(checkDocument.errors));
	t.is(document.results.length, 100);
	const cut = document.results.filter(result => result.outputOmitted);
	t.is(cut.length, answer.omitted());
	t.true(cut.length >= 100 - Math.ceil(limit / outputBytes) - 1, `${cut.length} results without output`);
	const whole = document.results.filter(result => !result.outputOmitted);
	t.true(whole.length >= Math.floor(limit / outputBytes), 'the first results, up to the limit, have their output');
	t.true(whole.every(result => result.stdout.length === outputBytes));
	const [first] = cut;
	t.deepEqual(first && {stdout: first.stdout, omitted: first.outputOmitted}, first && {
		stdout: '',
		omitted: {stdoutBytes: outputBytes, stderrBytes: 0, reason: 'the client read this answer more slowly than the run went: the server does not hold output for it', result: `/v1/runs/${requestId}?agent=${first.agent}`},
	});
});

test.serial('an event that breaks the published schema cuts the answer', async t => {
	const answer = createRunAnswerStream({check: event => (event.type === 'agent-finished' ? 'bad on purpose' : undefined)});
	const failed = new Promise<Error>(resolve => answer.body.once('error', resolve));
	await runManyHosts(3, answer.onEvent);
	t.regex((await failed).message, /breaks the published RunEvent schema: bad on purpose/);
});
