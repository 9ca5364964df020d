import test from 'ava';
import {chooseInterpreter, execPlan, readHeader} from '../../agent/shebang.js';
import {trustProblem} from '../../agent/path-trust.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

const headers = [
	{title: 'an ELF executable', text: '\u007FELF\u0002\u0001', header: {kind: 'elf'}},
	{title: 'a plain #! line', text: '#!/bin/sh\necho', header: {kind: 'script', interpreter: '/bin/sh'}},
	{title: 'blanks after #! and one argument', text: '#! \t/usr/bin/perl -w\n', header: {kind: 'script', interpreter: '/usr/bin/perl', argument: '-w'}},
	{title: 'the rest of the line is one argument, blanks inside kept', text: '#!/usr/bin/env -S a  b \t\n', header: {kind: 'script', interpreter: '/usr/bin/env', argument: '-S a  b'}},
	{title: 'no newline in a short file', text: '#!/bin/sh', header: {kind: 'script', interpreter: '/bin/sh'}},
	{title: 'no interpreter', text: '#!\n', header: {kind: 'unknown', reason: 'its #! line names no interpreter'}},
	{title: 'a #! line longer than the kernel reads', text: `#!/${'a'.repeat(300)}`, header: {kind: 'unknown', reason: 'its #! line is longer than 255 bytes'}},
	{title: 'neither', text: 'echo hi\n', header: {kind: 'unknown', reason: 'neither an ELF executable nor a #! script'}},
	{title: 'an empty file', text: '', header: {kind: 'unknown', reason: 'neither an ELF executable nor a #! script'}},
];

for (const c of headers) {
	test(`readHeader: ${c.title}`, t => {
		t.deepEqual(readHeader(bytes(c.text)), c.header);
	});
}

const notUtf8 = 'a script whose #! line is not UTF-8, so the interpreter the agent would check is not the one the kernel would run; write the line in UTF-8';
/** The #! line as the kernel reads it: bytes. Read as latin1, the first row named /opt/cafÃ©/sh. */
const byteHeaders = [
	{title: 'a UTF-8 interpreter path is read as UTF-8', bytes: Buffer.from('#!/opt/caf\u00E9/sh -e\necho \u00FF\n', 'utf8'), header: {kind: 'script', interpreter: '/opt/caf\u00E9/sh', argument: '-e'}},
	{title: 'an argument in UTF-8 (what the kernel passes, byte for byte)', bytes: Buffer.from('#!/usr/bin/awk -f\u00E9\n', 'utf8'), header: {kind: 'script', interpreter: '/usr/bin/awk', argument: '-f\u00E9'}},
	{title: 'the rest of the file need not be UTF-8', bytes: Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.from([0xFF, 0xFE])]), header: {kind: 'script', interpreter: '/bin/sh'}},
	{title: 'a latin1 byte in the interpreter path', bytes: Buffer.concat([Buffer.from('#!/opt/caf'), Buffer.from([0xE9]), Buffer.from('/sh\n')]), header: {kind: 'unknown', reason: notUtf8}},
	{title: 'a lone continuation byte in the argument', bytes: Buffer.concat([Buffer.from('#!/bin/sh -'), Buffer.from([0x80]), Buffer.from('\n')]), header: {kind: 'unknown', reason: notUtf8}},
	{title: 'an overlong encoding of /', bytes: Buffer.concat([Buffer.from('#!'), Buffer.from([0xC0, 0xAF]), Buffer.from('bin/sh\n')]), header: {kind: 'unknown', reason: notUtf8}},
	{title: 'a UTF-8 sequence cut by the newline', bytes: Buffer.concat([Buffer.from('#!/opt/caf'), Buffer.from([0xC3]), Buffer.from('\n')]), header: {kind: 'unknown', reason: notUtf8}},
	{title: 'a byte order mark is kept (the kernel would look for it too), so the path is not absolute', bytes: Buffer.from('#!\uFEFF/bin/sh\n', 'utf8'), header: {kind: 'script', interpreter: '\uFEFF/bin/sh'}},
	{title: 'ESC in the interpreter path', bytes: Buffer.from('#!/opt/x\u001B[2J/sh\n'), header: {kind: 'unknown', reason: 'a script whose #! line holds a control character (U+001B); write the line without one'}},
	{title: 'a carriage return inside the line', bytes: Buffer.from('#!/bin/sh\r-x\n'), header: {kind: 'unknown', reason: 'a script whose #! line holds a control character (U+000D); write the line without one'}},
	{title: 'a C1 control (U+0085) in the argument', bytes: Buffer.from('#!/bin/sh -\u0085\n', 'utf8'), header: {kind: 'unknown', reason: 'a script whose #! line holds a control character (U+0085); write the line without one'}},
	{title: 'DEL in the interpreter path', bytes: Buffer.from('#!/bin/s\u007Fh\n'), header: {kind: 'unknown', reason: 'a script whose #! line holds a control character (U+007F); write the line without one'}},
];

for (const c of byteHeaders) {
	test(`readHeader, bytes: ${c.title}`, t => {
		t.deepEqual(readHeader(c.bytes), c.header);
	});
}

const choices = [
	{title: 'an absolute interpreter', header: {interpreter: '/bin/sh'}, named: undefined, choice: {ok: true, path: '/bin/sh'}},
	{title: 'an absolute interpreter with its argument', header: {interpreter: '/usr/bin/perl', argument: '-w'}, named: undefined, choice: {ok: true, path: '/usr/bin/perl', argument: '-w'}},
	{title: 'env without the interpreter named', header: {interpreter: '/usr/bin/env', argument: 'python3'}, named: undefined, choice: {ok: false, reason: '/s starts with #!/usr/bin/env python3, which finds its interpreter on PATH; name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)'}},
	{title: 'env in /bin', header: {interpreter: '/bin/env', argument: 'python3'}, named: undefined, choice: {ok: false, reason: '/s starts with #!/bin/env python3, which finds its interpreter on PATH; name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)'}},
	{title: 'env NAME with NAME named', header: {interpreter: '/usr/bin/env', argument: 'python3'}, named: '/usr/bin/python3', choice: {ok: true, path: '/usr/bin/python3'}},
	{title: 'env with options', header: {interpreter: '/usr/bin/env', argument: '-S python3 -u'}, named: '/usr/bin/python3', choice: {ok: false, reason: '/s starts with #!/usr/bin/env -S python3 -u, which is not `env python3` for the interpreter /usr/bin/python3 its entry names'}},
	{title: 'env with a variable', header: {interpreter: '/usr/bin/env', argument: 'PATH=/tmp python3'}, named: '/usr/bin/python3', choice: {ok: false, reason: '/s starts with #!/usr/bin/env PATH=/tmp python3, which is not `env python3` for the interpreter /usr/bin/python3 its entry names'}},
	{title: 'env NAME naming another interpreter', header: {interpreter: '/usr/bin/env', argument: 'perl'}, named: '/usr/bin/python3', choice: {ok: false, reason: '/s starts with #!/usr/bin/env perl, which is not `env python3` for the interpreter /usr/bin/python3 its entry names'}},
	{title: 'an interpreter other than the one named', header: {interpreter: '/bin/sh'}, named: '/bin/bash', choice: {ok: false, reason: '/s names the interpreter /bin/sh, but its entry names /bin/bash'}},
	{title: 'a relative interpreter (the working directory)', header: {interpreter: 'sh'}, named: undefined, choice: {ok: false, reason: '/s names the interpreter "sh", which is not a normalised absolute path'}},
	{title: 'a path with ..', header: {interpreter: '/usr/../tmp/sh'}, named: undefined, choice: {ok: false, reason: '/s names the interpreter "/usr/../tmp/sh", which is not a normalised absolute path'}},
];

for (const c of choices) {
	test(`chooseInterpreter: ${c.title}`, t => {
		t.deepEqual(chooseInterpreter('/s', c.header, c.named), c.choice);
	});
}

test('execPlan builds what the kernel would, each file named by its descriptor', t => {
	t.deepEqual(execPlan('/opt/tool', [], ['a']), {file: '/proc/self/fd/3', argv0: '/opt/tool', args: ['a']});
	t.deepEqual(execPlan('/opt/s', [{written: '/bin/sh'}], ['a', 'b c']), {file: '/proc/self/fd/3', argv0: '/bin/sh', args: ['/proc/self/fd/4', 'a', 'b c']});
	// A script whose interpreter is itself a script: [outer interpreter, its argument, inner interpreter, script, args].
	t.deepEqual(execPlan('/opt/s', [{written: '/opt/wrap', argument: '-x'}, {written: '/usr/bin/perl', argument: '-w'}], ['a']), {
		file: '/proc/self/fd/3',
		argv0: '/usr/bin/perl',
		args: ['-w', '/proc/self/fd/5', '-x', '/proc/self/fd/4', 'a'],
	});
});

const owners = {agentUid: 0, runAsUid: 65_534};
const trust = [
	{title: 'a root-owned 0755 directory', facts: {uid: 0, gid: 0, mode: 0o40755}, kind: 'directory', problem: undefined},
	{title: '/tmp (1777 root:root)', facts: {uid: 0, gid: 0, mode: 0o41777}, kind: 'directory', problem: undefined},
	{title: 'a sticky 1775 root:staff directory', facts: {uid: 0, gid: 50, mode: 0o41775}, kind: 'directory', problem: '/d is writable by its group (mode 1775, sticky: exempt only when owned by root and its group (gid 50) is root\'s or cannot write)'},
	{title: 'a sticky 1777 directory owned by another user', facts: {uid: 1000, gid: 0, mode: 0o41777}, kind: 'directory', problem: '/d is owned by uid 1000, neither root nor the agent\'s user (uid 0)'},
	{title: 'a sticky world-writable file', facts: {uid: 0, gid: 0, mode: 0o101777}, kind: 'file', problem: '/d is writable by its group (mode 1777)'},
	{title: 'an others-writable directory', facts: {uid: 0, gid: 0, mode: 0o40757}, kind: 'directory', problem: '/d is writable by others (mode 757)'},
	{title: 'a symbolic link owned by root', facts: {uid: 0, gid: 0, mode: 0o120777}, kind: 'symbolic link', problem: undefined},
	{title: 'a symbolic link owned by another user', facts: {uid: 1000, gid: 1000, mode: 0o120777}, kind: 'symbolic link', problem: 'the symbolic link /d is owned by uid 1000, neither root nor the agent\'s user (uid 0)'},
	{title: 'a file owned by the runAs user', facts: {uid: 65_534, gid: 0, mode: 0o100755}, kind: 'file', problem: '/d is owned by uid 65534, neither root nor the agent\'s user (uid 0)'},
] as const;

for (const c of trust) {
	test(`trustProblem: ${c.title}`, t => {
		t.is(trustProblem('/d', c.facts, owners, c.kind), c.problem);
	});
}

test('trustProblem: a file owned by the runAs user when the agent is that user too is the agent\'s', t => {
	t.is(trustProblem('/d', {uid: 1000, gid: 1000, mode: 0o100755}, {agentUid: 1000, runAsUid: 1000}, 'file'), undefined);
	t.is(trustProblem('/d', {uid: 1000, gid: 1000, mode: 0o100755}, {agentUid: 0, runAsUid: 1000}, 'file'), '/d is owned by uid 1000, neither root nor the agent\'s user (uid 0)');
});
