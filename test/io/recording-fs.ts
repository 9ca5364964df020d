/** A DurableFs over the real one that records each call as `op name` (a file's base name, `dir` for a directory). */
import {basename} from 'node:path';
import {nodeFs, type DurableFs} from '../../source/io/durable-fs.js';

export type RecordingFs = DurableFs & {calls: string[]; failWrite?: boolean};

export function recordingFs(): RecordingFs {
	const names = new Map<number, string>();
	const name = (path: string) => basename(path).replace(/\.[0-9a-f]{12}\.tmp$/, '.TMP');
	const port: RecordingFs = {
		calls: [],
		open(path, how, mode) {
			const fd = nodeFs.open(path, how, mode);
			names.set(fd, name(path));
			port.calls.push(`open-${how} ${name(path)}`);
			return fd;
		},
		openDirectory(path) {
			const fd = nodeFs.openDirectory(path);
			names.set(fd, 'dir');
			port.calls.push('open dir');
			return fd;
		},
		write(fd, data) {
			port.calls.push(`write ${names.get(fd) ?? 'fd'}`);
			return port.failWrite ? 0 : nodeFs.write(fd, data);
		},
		chmod(path, mode) {
			port.calls.push(`chmod ${name(path)}`);
			nodeFs.chmod(path, mode);
		},
		fsync(fd) {
			port.calls.push(`fsync ${names.get(fd) ?? 'fd'}`);
			nodeFs.fsync(fd);
		},
		async fsyncInPool(fd) {
			port.calls.push(`fsync ${names.get(fd) ?? 'fd'}`);
			await nodeFs.fsyncInPool(fd);
		},
		close(fd) {
			port.calls.push(`close ${names.get(fd) ?? 'fd'}`);
			names.delete(fd);
			nodeFs.close(fd);
		},
		rename(from, to) {
			port.calls.push(`rename ${name(from)} ${name(to)}`);
			nodeFs.rename(from, to);
		},
		remove(path) {
			port.calls.push(`remove ${name(path)}`);
			nodeFs.remove(path);
		},
	};
	return port;
}
