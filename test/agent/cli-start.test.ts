/** `xi-exec-agent start` reads its flags through the shared runner (node:util, no command-line library held by the daemon): bad input still gets one clear error. */
import test from 'ava';
import {agentCli, runCli, temporaryDirectory} from '../helpers/fleet.js';

const cases: Array<{args: string[]; stderr: RegExp}> = [
	{args: ['start', '--bogus'], stderr: /^xi-exec-agent: Unknown option '--bogus'; see `xi-exec-agent start --help`\. \(USAGE\)\n$/},
	{args: ['start', 'extra'], stderr: /^xi-exec-agent: Unexpected argument 'extra'\..*; see `xi-exec-agent start --help`\. \(USAGE\)\n$/},
	{args: ['start', '--home'], stderr: /^xi-exec-agent: Option '--home <value>' argument missing; see `xi-exec-agent start --help`\. \(USAGE\)\n$/},
];

for (const c of cases) {
	test(`xi-exec-agent ${c.args.join(' ')} is refused with exit 2`, async t => {
		const result = await runCli(agentCli, c.args);
		t.is(result.code, 2);
		t.regex(result.stderr, c.stderr);
	});
}

test('xi-exec-agent start --home DIR reads that home (and says what is missing there)', async t => {
	const home = temporaryDirectory();
	const result = await runCli(agentCli, ['start', '--home', home], {XI_EXEC_AGENT_HOME: '/nonexistent'});
	t.is(result.code, 2);
	t.is(result.stderr, `xi-exec-agent: ${home} has no agent configuration; run \`xi-exec-agent init --name NAME --listen HOST:PORT\` first. (NOT_INITIALISED)\n`);
});
