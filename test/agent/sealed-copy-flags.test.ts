import test from 'ava';
import {constants} from 'node:fs';
import {tmpfileFlag} from '../../agent/sealed-copy.js';

test('O_TMPFILE is built from the platform\'s O_DIRECTORY: x86-64 and arm64 differ', t => {
	t.is(tmpfileFlag(0o200_000), 0o20_200_000, 'x86-64');
	t.is(tmpfileFlag(0o40_000), 0o20_040_000, 'arm64 and arm');
	t.is(tmpfileFlag(constants.O_DIRECTORY) & constants.O_DIRECTORY, constants.O_DIRECTORY);
});
