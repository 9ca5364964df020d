/** Identical outputs are kept once per run: the results read the same, and hold the same string. */
import test from 'ava';
import {createOutputSharing} from '../../source/run/shared-outputs.js';
import type {AgentResult} from '../../source/run/events.js';

const result = (agent: string, stdout: string, stderr = ''): AgentResult => ({agent, status: 'ok', exitCode: 0, signal: null, stdout, stderr, truncated: false, durationMs: 3});
/** A string built at run time, as each host's output is (not one literal the engine already shares). */
const built = (...parts: string[]) => JSON.parse(JSON.stringify(parts.join(''))) as string;

test('hosts with the same output share one kept text; different outputs stay apart', t => {
	const sharing = createOutputSharing();
	const web1 = sharing.share(result('web1', built('version ', '1.2.3\n')));
	const web2 = sharing.share(result('web2', built('version 1', '.2.3\n')));
	const web3 = sharing.share(result('web3', built('version 1.2.4\n'), built('warning\n')));
	t.deepEqual([web1.stdout, web2.stdout, web3.stdout, web3.stderr], ['version 1.2.3\n', 'version 1.2.3\n', 'version 1.2.4\n', 'warning\n']);
	t.is(sharing.distinct, 3);
	t.like(web2, {agent: 'web2', status: 'ok', exitCode: 0, stderr: '', durationMs: 3});
});

test('a result keeps every field but its output texts as it was', t => {
	const sharing = createOutputSharing();
	const original: AgentResult = {...result('web1', 'x'), status: 'failed', exitCode: 2, reason: 'exit 2', notes: ['a note'], via: 'relay'};
	t.deepEqual(sharing.share(original), original);
	t.is(sharing.distinct, 1);
});
