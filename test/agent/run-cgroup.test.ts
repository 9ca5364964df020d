import test from 'ava';
import {orphanedRunCgroups, ownCgroupDirectory, runCgroupOwner} from '../../agent/run-cgroup.js';

const hybrid = [
	'30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
	'31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
	'39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
	'40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const unified = '29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
const v1Only = '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu';
const hybridSelf = '9:name=systemd:/\n4:memory:/process_api/7e49\n0::/\n';

const rows: Array<{title: string; mountinfo: string; self: string; directory: string | undefined}> = [
	{title: 'hybrid: cgroup2 at /sys/fs/cgroup/unified, the agent in its root', mountinfo: hybrid, self: hybridSelf, directory: '/sys/fs/cgroup/unified'},
	{title: 'unified: a systemd service', mountinfo: unified, self: '0::/system.slice/xi-exec-agent.service\n', directory: '/sys/fs/cgroup/system.slice/xi-exec-agent.service'},
	{title: 'a mount whose root is a sub-cgroup (a container bind mount)', mountinfo: '50 40 0:26 /docker/abc /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw', self: '0::/docker/abc/app\n', directory: '/sys/fs/cgroup/app'},
	{title: 'a mount whose root is exactly our cgroup', mountinfo: '50 40 0:26 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw', self: '0::/docker/abc\n', directory: '/sys/fs/cgroup'},
	{title: 'our cgroup is outside the mounted sub-tree', mountinfo: '50 40 0:26 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw', self: '0::/docker/abcdef\n', directory: undefined},
	{title: 'a mount point with an escaped space', mountinfo: String.raw`40 30 0:37 / /mnt/cgroup\040two rw,relatime - cgroup2 cgroup2 rw`, self: '0::/run\n', directory: '/mnt/cgroup two/run'},
	{title: 'optional fields before the separator', mountinfo: '29 22 0:26 / /sys/fs/cgroup rw shared:4 master:1 - cgroup2 cgroup2 rw', self: '0::/a\n', directory: '/sys/fs/cgroup/a'},
	{title: 'cgroup v1 only: no cgroup2 mount', mountinfo: v1Only, self: '4:cpu:/\n', directory: undefined},
	{title: 'a cgroup2 mount but no 0:: line for this process', mountinfo: unified, self: '4:cpu:/\n', directory: undefined},
	{title: 'our cgroup was deleted', mountinfo: unified, self: '0::/gone (deleted)\n', directory: undefined},
	{title: 'a file system named cgroup2 by source only is not a cgroup2 mount', mountinfo: '60 22 0:50 / /mnt/x rw - tmpfs cgroup2 rw', self: '0::/\n', directory: undefined},
	{title: 'no mounts at all', mountinfo: '', self: '0::/\n', directory: undefined},
];

for (const row of rows) {
	test(`ownCgroupDirectory: ${row.title}`, t => {
		t.is(ownCgroupDirectory(row.mountinfo, row.self), row.directory);
	});
}

const ours = runCgroupOwner('web1', '/var/lib/xi-exec-agent');
const theirs = runCgroupOwner('web1', '/tmp/another-home');
const orphanRows = [
	{title: 'ours, its process gone', name: `xi-exec-${ours}-300-req-2-bbbb`, reaped: true},
	{title: 'ours, a label with dashes', name: `xi-exec-${ours}-400-x`, reaped: true},
	{title: 'ours, its process alive', name: `xi-exec-${ours}-100-req-1-aaaa`, reaped: false},
	{title: 'ours, the live probe', name: `xi-exec-${ours}-200-probe-cccc`, reaped: false},
	{title: 'another agent\'s (same name, another home), its process gone', name: `xi-exec-${theirs}-300-req-2-bbbb`, reaped: false},
	{title: 'the old format without an owner', name: 'xi-exec-300-req-2-bbbb', reaped: false},
	{title: 'an owner that is not 12 hex digits', name: `xi-exec-${ours.slice(1)}-300-x`, reaped: false},
	{title: 'no pid', name: `xi-exec-${ours}-req-3`, reaped: false},
	{title: 'a prefix before ours', name: `other-xi-exec-${ours}-500-y`, reaped: false},
	{title: 'a systemd slice', name: 'system.slice', reaped: false},
];

for (const row of orphanRows) {
	test(`orphanedRunCgroups: ${row.title}`, t => {
		const alive = new Set([100, 200]);
		t.deepEqual(orphanedRunCgroups([row.name], ours, pid => alive.has(pid)), row.reaped ? [row.name] : []);
	});
}

test('runCgroupOwner: 12 hex digits, different for another name or home', t => {
	t.regex(ours, /^[\da-f]{12}$/);
	t.not(ours, theirs);
	t.not(ours, runCgroupOwner('web2', '/var/lib/xi-exec-agent'));
	t.is(ours, runCgroupOwner('web1', '/var/lib/xi-exec-agent'));
});
