/**
 * A preload for the built CLI (`node --require one-shot-marks.cjs dist/source/cli.cjs run ...`,
 * transpiled to CommonJS by measure-one-shot-latency.ts so that it does not start node's ES module
 * loader itself): where a real one-shot's time goes, as the CPU the process has used (every
 * thread) and the wall time since it started, at five moments: its first TCP connect, the TLS
 * handshake done, the request written (the first write on a TLS socket), the agent's first bytes,
 * and exit. Appended as one JSON line to $ONE_SHOT_MARKS. Costs the process about a millisecond
 * (node:net, node:fs and node:perf_hooks, which the CLI loads anyway).
 */
import {appendFileSync} from 'node:fs';
import {Socket} from 'node:net';
import {performance} from 'node:perf_hooks';

export type MarkName = 'connect' | 'secure' | 'request' | 'data' | 'exit';

/** Each moment: [CPU ms, wall ms since the process started]. */
export type Marks = Partial<Record<MarkName, [number, number]>>;

const marks: Marks = {};

function mark(name: MarkName): void {
	if (!marks[name]) {
		const {user, system} = process.cpuUsage();
		marks[name] = [(user + system) / 1000, performance.now()];
	}
}

type MaybeTls = Socket & {encrypted?: boolean};

const connect = Socket.prototype.connect;
Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
	mark('connect');
	return (connect as (...args: unknown[]) => Socket).apply(this, args);
} as typeof connect;

// On the prototype every socket shares, TLS sockets included (a TLS socket may be made on a TCP socket opened earlier).
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (this: MaybeTls, event: string | symbol, ...args: unknown[]) {
	if (this.encrypted && event === 'secureConnect') {
		mark('secure');
	} else if (this.encrypted && event === 'data') {
		mark('data');
	}

	return (emit as (event: string | symbol, ...args: unknown[]) => boolean).call(this, event, ...args);
} as typeof emit;

const write = Socket.prototype.write;
Socket.prototype.write = function (this: MaybeTls, ...args: unknown[]) {
	if (this.encrypted) {
		mark('request');
	}

	return (write as (...args: unknown[]) => boolean).apply(this, args);
} as typeof write;

process.on('exit', () => {
	mark('exit');
	appendFileSync(process.env['ONE_SHOT_MARKS']!, `${JSON.stringify(marks)}\n`);
});
