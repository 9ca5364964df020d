/** A tool call's arguments against its envelope: what passes, and the exact message of each malformed call. */
import test from 'ava';
import {checkArguments} from '../../source/mcp/call-input.js';

const rows: Array<{tool: string; input: Record<string, unknown>; expected: unknown}> = [
	{tool: 'check', input: {on: ['web1']}, expected: {kind: 'script', on: ['web1'], args: [], dryRun: false}},
	{tool: 'check', input: {on: ['env=staging', 'db1'], args: ['a b', '--x'], dryRun: true}, expected: {kind: 'script', on: ['env=staging', 'db1'], args: ['a b', '--x'], dryRun: true}},
	{tool: 'check', input: {args: []}, expected: 'check: "on" is required: which agents to run on'},
	{tool: 'check', input: {on: 'web1'}, expected: 'check: "on" must be a list of 1 to 32 selectors (strings such as "web1" or "env=staging")'},
	{tool: 'check', input: {on: []}, expected: 'check: "on" must be a list of 1 to 32 selectors (strings such as "web1" or "env=staging")'},
	{tool: 'check', input: {on: ['']}, expected: 'check: "on" must be a list of 1 to 32 selectors (strings such as "web1" or "env=staging")'},
	{tool: 'check', input: {on: Array.from({length: 33}, () => 'web1')}, expected: 'check: "on" must be a list of 1 to 32 selectors (strings such as "web1" or "env=staging")'},
	{tool: 'check', input: {on: ['web1'], args: 'nginx'}, expected: 'check: "args" must be a list of strings'},
	{tool: 'check', input: {on: ['web1'], args: [1]}, expected: 'check: "args" must be a list of strings'},
	{tool: 'check', input: {on: ['web1'], dryRun: 'yes'}, expected: 'check: "dryRun" must be true or false'},
	{tool: 'check', input: {on: ['web1'], yes: true}, expected: 'check: unknown argument "yes"; it takes on, args, dryRun'},
	{tool: 'check', input: {on: ['web1'], __proto__x: 1}, expected: 'check: unknown argument "__proto__x"; it takes on, args, dryRun'},
	{tool: 'list_agents', input: {}, expected: {kind: 'list_agents'}},
	{tool: 'list_agents', input: {on: ['web1']}, expected: {kind: 'list_agents', on: ['web1']}},
	{tool: 'list_agents', input: {script: 'x'}, expected: 'list_agents: unknown argument "script"; it takes on'},
	{tool: 'list_runs', input: {}, expected: {kind: 'list_runs', limit: 20}},
	{tool: 'list_runs', input: {limit: 101}, expected: 'list_runs: "limit" must be a whole number from 1 to 100'},
	{tool: 'list_runs', input: {limit: 1.5}, expected: 'list_runs: "limit" must be a whole number from 1 to 100'},
	{tool: 'get_run', input: {requestId: '0b6f2c1e-1111-4222-8333-944455556666'}, expected: {kind: 'get_run', requestId: '0b6f2c1e-1111-4222-8333-944455556666'}},
	{tool: 'get_run', input: {requestId: '../../etc/passwd'}, expected: 'get_run: "requestId" must be a request id, as a run answered with'},
	{tool: 'cancel_run', input: {}, expected: 'cancel_run: "requestId" must be a request id, as a run answered with'},
	{tool: 'wait_approval', input: {approvalId: '7c1e2a90-1111-4222-8333-944455556666'}, expected: {kind: 'wait_approval', approvalId: '7c1e2a90-1111-4222-8333-944455556666', timeoutSeconds: 60}},
	{tool: 'wait_approval', input: {approvalId: '7c1e', timeoutSeconds: 0}, expected: {kind: 'wait_approval', approvalId: '7c1e', timeoutSeconds: 0}},
	{tool: 'wait_approval', input: {approvalId: '../x'}, expected: 'wait_approval: "approvalId" must be an approval id, as a script call answered with'},
	{tool: 'wait_approval', input: {approvalId: '7c1e', timeoutSeconds: 301}, expected: 'wait_approval: "timeoutSeconds" must be a whole number from 0 to 300'},
	{tool: 'wait_approval', input: {approvalId: '7c1e', requestId: 'x'}, expected: 'wait_approval: unknown argument "requestId"; it takes approvalId, timeoutSeconds'},
];

for (const row of rows) {
	test(`checkArguments: ${row.tool} ${JSON.stringify(row.input).slice(0, 80)}`, t => {
		t.deepEqual(checkArguments(row.tool, row.input), row.expected);
	});
}
