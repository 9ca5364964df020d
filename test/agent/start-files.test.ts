import test from 'ava';
import {listenAddress} from '../../agent/start-files.js';
import {isXiError} from '../../source/errors.js';

const cases: Array<{listen: string; relay?: string; expected: {host: string; port: number} | undefined | string}> = [
	{listen: '127.0.0.1:7443', expected: {host: '127.0.0.1', port: 7443}},
	{listen: '[::1]:7443', expected: {host: '::1', port: 7443}},
	{listen: 'none', relay: 'nats://127.0.0.1:4222', expected: undefined},
	{listen: 'none', expected: '"listen" in /h/config.json is "none", but no "relay" is set: the controller could not reach this agent at all; set "relay" to the broker\'s nats://HOST:PORT or "listen" to HOST:PORT.'},
	{listen: '7443', expected: '"listen" in /h/config.json: "7443" is not HOST:PORT.'},
];

for (const {listen, relay, expected} of cases) {
	test(`listenAddress: ${listen}${relay ? ' with a relay' : ''}`, t => {
		const config = {listen, ...(relay ? {relay} : {})};
		if (typeof expected === 'string') {
			const error = t.throws(() => listenAddress(config, '/h/config.json'));
			t.true(isXiError(error) && error.code === 'CONFIG_INVALID');
			t.is(error?.message, expected);
		} else {
			t.deepEqual(listenAddress(config, '/h/config.json'), expected);
		}
	});
}
