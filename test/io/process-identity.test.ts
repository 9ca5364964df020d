/** A holder names one live process: this one is alive, an exited child is not, and a reused pid (another start time) is not. */
import {spawnSync} from 'node:child_process';
import test from 'ava';
import {holderAlive, processHolder} from '../../source/io/process-identity.js';

test('this process is a live holder, named PID:STARTTIME', t => {
	const holder = processHolder();
	t.regex(holder, new RegExp(`^${process.pid}:\\d+$`));
	t.true(holderAlive(holder));
});

test('a process that exited is not alive', t => {
	const child = spawnSync(process.execPath, ['-e', '0']);
	t.is(child.status, 0);
	t.false(holderAlive(`${child.pid}:1`));
});

test('the same pid with another start time (a pid reused after a crash) is not alive', t => {
	const [pid, started] = processHolder().split(':');
	t.false(holderAlive(`${pid}:${Number(started) + 1}`));
});
