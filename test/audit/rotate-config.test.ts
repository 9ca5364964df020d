/** `auditRotateBytes` in either side's config.json: a whole number of bytes of at least 4096, or a clear refusal. */
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig} from '../../agent/home.js';
import {readControllerSettings} from '../../source/audit/controller-log.js';
import {XiError} from '../../source/errors.js';
import {controllerPaths} from '../../source/home.js';
import {temporaryDirectory} from './helpers.js';

const rows: Array<{value: unknown; accepted: boolean}> = [
	{value: 4096, accepted: true},
	{value: 67_108_864, accepted: true},
	{value: 4095, accepted: false},
	{value: 0, accepted: false},
	{value: -1, accepted: false},
	{value: 8192.5, accepted: false},
	{value: '64M', accepted: false},
	{value: null, accepted: false},
];

for (const {value, accepted} of rows) {
	test(`auditRotateBytes ${JSON.stringify(value)}: ${accepted ? 'taken' : 'refused, naming the file and the value'} on both sides`, t => {
		const directory = temporaryDirectory(t);
		const agent = agentPaths(join(directory, 'agent'));
		mkdirSync(agent.home);
		writeFileSync(agent.config, JSON.stringify({name: 'web1', listen: '127.0.0.1:7441', tags: {}, auditRotateBytes: value}));
		const controller = controllerPaths(join(directory, 'controller'));
		mkdirSync(controller.home);
		writeFileSync(controller.config, JSON.stringify({auditRotateBytes: value}));
		const message = `"auditRotateBytes" in %s must be a whole number of bytes of at least 4096 (received ${JSON.stringify(value)}).`;
		if (accepted) {
			t.is(readAgentConfig(agent).auditRotateBytes, value as number);
			t.deepEqual(readControllerSettings(controller), {auditRotateBytes: value});
		} else {
			t.like(t.throws(() => readAgentConfig(agent), {instanceOf: XiError}), {code: 'CONFIG_INVALID', message: message.replace('%s', agent.config)});
			t.like(t.throws(() => readControllerSettings(controller), {instanceOf: XiError}), {code: 'CONFIG_INVALID', message: message.replace('%s', controller.config)});
		}
	});
}

test('without auditRotateBytes, neither side sets one (the log uses 64 MiB)', t => {
	const directory = temporaryDirectory(t);
	const agent = agentPaths(join(directory, 'agent'));
	mkdirSync(agent.home);
	writeFileSync(agent.config, JSON.stringify({name: 'web1', listen: '127.0.0.1:7441', tags: {}}));
	t.false('auditRotateBytes' in readAgentConfig(agent));
	const controller = controllerPaths(join(directory, 'controller'));
	mkdirSync(controller.home);
	writeFileSync(controller.config, JSON.stringify({syslog: 'udp://127.0.0.1:514'}));
	const settings = readControllerSettings(controller);
	t.false('auditRotateBytes' in settings);
	t.is(settings.syslog, 'udp://127.0.0.1:514');
});
