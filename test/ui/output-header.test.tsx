/** The output view's first line at 80 columns: the host's name, its badge and its time read as one sentence that wraps whole. */
import test from 'ava';
import {Box} from 'ink';
import {render} from 'ink-testing-library';
import type {RunEvent} from '../../source/run/events.js';
import {initialRunState, reduceRun} from '../../source/run/run-state.js';
import {Output} from '../../source/ui/screens/output/output.js';
import {initialOutputState} from '../../source/ui/screens/output/use-output-state.js';
import {agentRun} from './helpers/fake-core.js';
import {normalise} from './helpers/frames.js';

const reason = 'connection refused by 127.0.0.1:37943 (is the agent running?)';

test('an unreachable host\'s output view: its name, badge and time are spaced, and wrap as words, not as columns', t => {
	const events: RunEvent[] = [{type: 'run-started', requestId: 'r1', script: 'check-service', args: [], targets: ['db2']}, ...agentRun('db2', '', {status: 'unreachable', reason, durationMs: 100, via: 'tls'})];
	const run = events.reduce(reduceRun, initialRunState);
	const {lastFrame, unmount} = render(<Box width={80}><Output agent={run.agents['db2']!} lines={[]} state={initialOutputState} height={20} width={80}/></Box>);
	t.teardown(unmount);
	const [first, second] = normalise(lastFrame()).split('\n');
	// Before: `db2 ⊘ unreachable: … (is the agent          0.0 s via direct TLS` over `    running?)`.
	t.is(`${first!.trimEnd()}\n${second!.trimEnd()}`, `db2  ⊘ unreachable: connection refused by 127.0.0.1:37943 (is the agent
running?)  0.0 s via direct TLS`);
});
