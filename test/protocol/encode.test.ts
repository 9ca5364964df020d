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
