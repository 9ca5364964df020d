/**
 * What the agent says when a controller asks for a relay request's status (agent/relay-results.ts):
 * a run's signed result, kept verbatim for the window; "running" while it runs; unknown otherwise.
 */
import test from 'ava';
import {RelayResults} from '../../agent/relay-results.js';

const keepMs = 600_000;

test('an ended run answers with its signed result, exactly as sent', t => {
	const results = new RelayResults(keepMs);
	results.remember('req-00000001', '{"env":{},"sig":"AA=="}', 1000);
	t.deepEqual(results.status('req-00000001', false, 2000), {found: true, running: false, result: '{"env":{},"sig":"AA=="}'});
});

test('a running request is found, without a result', t => {
	t.deepEqual(new RelayResults(keepMs).status('req-00000002', true, 0), {found: true, running: true});
});

test('an unknown request is not found', t => {
	t.deepEqual(new RelayResults(keepMs).status('req-00000003', false, 0), {found: false, running: false});
});

test('a result is forgotten once the window has passed (its request would be refused as stale anyway)', t => {
	const results = new RelayResults(keepMs);
	results.remember('req-00000004', 'signed', 1000);
	t.true(results.status('req-00000004', false, 1000 + keepMs).found);
	t.false(results.status('req-00000004', false, 1001 + keepMs).found);
});

test('past the bound the oldest result goes first', t => {
	const results = new RelayResults(keepMs, 2);
	results.remember('req-0000000a', 'a', 1);
	results.remember('req-0000000b', 'b', 2);
	results.remember('req-0000000c', 'c', 3);
	t.deepEqual(['a', 'b', 'c'].map(name => results.status(`req-0000000${name}`, false, 4).result), [undefined, 'b', 'c']);
});
