import test from 'ava';
import {encodeFrame} from '../../source/protocol/encode.js';

test('writes the version first and ends the frame with one newline', t => {
	t.is(encodeFrame({type: 'started', id: 'req-0001abcd'}), '{"v":1,"type":"started","id":"req-0001abcd"}\n');
});

test('keeps a frame on one line whatever its data holds', t => {
	const line = encodeFrame({type: 'stdout', id: 'req-0001abcd', data: 'a\nb\r\n\u0000\u001B[2J\u2028'});
	t.is(line.indexOf('\n'), line.length - 1);
	t.deepEqual(JSON.parse(line), {v: 1, type: 'stdout', id: 'req-0001abcd', data: 'a\nb\r\n\u0000\u001B[2J\u2028'});
});

test('a stamped frame is the frame with its message id and time last: the bytes the direct link always sent', t => {
	const frames = [
		{type: 'run', id: 'req-0001abcd', script: 'uptime', args: ['-p', ''], caller: 'ops@host', timeoutMs: 30_000, dryRun: true, token: 't', approval: {by: 'x'}},
		{type: 'cancel', id: 'req-0001abcd', caller: 'ops@host (--run-timeout)'},
		{type: 'describe', id: 'req-0001abcd'},
	] as const;
	const stamp = {msg: '00000000-0000-4000-8000-000000000001', ts: 1_765_000_000_123};
	for (const frame of frames) {
		const line = encodeFrame(frame as unknown as Parameters<typeof encodeFrame>[0], stamp);
		t.is(line, JSON.stringify({v: 1, ...frame, msg: stamp.msg, ts: stamp.ts}) + '\n');
		t.deepEqual(Object.keys(JSON.parse(line) as object), ['v', ...Object.keys(frame), 'msg', 'ts']);
	}
});
