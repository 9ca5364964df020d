/**
 * Debian's rsyslogd as a test collector: started in the foreground with its own config, pid file
 * and work directory in a temporary directory (no system socket), one input on a free loopback
 * port (imudp, imtcp, or imtcp over TLS with the ossl driver, which needs rsyslog-openssl), writing
 * each message's MSG to a file. `stop` and `start` again on the same port: a collector that goes
 * away and comes back.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {createSocket} from 'node:dgram';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

export const rsyslogd = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find(path => existsSync(path));
export const rsyslogVersion = rsyslogd ? /rsyslogd\s+(\S+)/.exec(spawnSync(rsyslogd, ['-v'], {encoding: 'utf8'}).stdout)?.[1] : undefined;
/** The TLS stream driver (Debian's rsyslog-openssl). */
export const rsyslogTls = rsyslogd !== undefined && ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'].some(directory => existsSync(join(directory, 'lmnsd_ossl.so')));

export type Transport = 'udp' | 'tcp' | 'tls';
export type TlsFiles = {ca: string; cert: string; key: string};

export type Collector = {
	port: number;
	/** Each message's MSG part, in the order rsyslogd wrote them. */
	messages: () => string[];
	start: () => Promise<void>;
	stop: () => Promise<void>;
};

export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
	if (kind === 'udp') {
		const socket = createSocket('udp4');
		await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve));
		const {port} = socket.address();
		await new Promise<void>(resolve => socket.close(() => resolve()));
		return port;
	}

	const server = createServer();
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as {port: number};
	await new Promise<void>(resolve => server.close(() => resolve()));
	return port;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await delay(25);
	}
}

export async function startCollector(directory: string, transport: Transport, tls?: TlsFiles): Promise<Collector> {
	const port = await freePort(transport === 'udp' ? 'udp' : 'tcp');
	const received = join(directory, 'received.txt');
	const config = join(directory, 'rsyslog.conf');
	writeFileSync(config, [
		`global(workDirectory="${directory}"${tls ? ` defaultNetstreamDriverCAFile="${tls.ca}" defaultNetstreamDriverCertFile="${tls.cert}" defaultNetstreamDriverKeyFile="${tls.key}"` : ''})`,
		transport === 'udp' ? 'module(load="imudp")' : (tls ? 'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")' : 'module(load="imtcp")'),
		`input(type="${transport === 'udp' ? 'imudp' : 'imtcp'}" address="127.0.0.1" port="${port}")`,
		'template(name="msg" type="string" string="%msg%\\n")',
		`*.* action(type="omfile" file="${received}" template="msg")`,
		'',
	].join('\n'));
	let child: ChildProcess | undefined;
	let output = '';
	const messages = () => (existsSync(received) ? readFileSync(received, 'utf8').split('\n').filter(line => line.startsWith('{')) : []);
	const collector: Collector = {
		port,
		messages,
		async start() {
			output = '';
			const started = spawn(rsyslogd!, ['-n', '-f', config, '-i', join(directory, 'rsyslogd.pid')], {stdio: ['ignore', 'pipe', 'pipe']});
			child = started;
			started.stdout!.on('data', (chunk: Buffer) => {
				output += chunk.toString('utf8');
			});
			started.stderr!.on('data', (chunk: Buffer) => {
				output += chunk.toString('utf8');
			});
			// Listening once its port answers (TCP) or it logs that it started (UDP).
			await until(() => {
				if (started.exitCode !== null) {
					throw new Error(`rsyslogd exited with ${started.exitCode}: ${output}`);
				}

				return transport === 'udp' ? udpBound(port) : tcpListening(port);
			}, 'rsyslogd to listen');
		},
		async stop() {
			if (child && child.exitCode === null && child.signalCode === null) {
				const exited = new Promise(resolve => child!.once('exit', resolve));
				child.kill('SIGTERM');
				await exited;
			}
		},
	};
	await collector.start();
	return collector;
}

/** Whether a TCP socket listens on 127.0.0.1:port (from /proc/net/tcp: state 0A). */
function tcpListening(port: number): boolean {
	const hex = port.toString(16).toUpperCase().padStart(4, '0');
	return readFileSync('/proc/net/tcp', 'utf8').split('\n').some(line => line.includes(`0100007F:${hex} 00000000:0000 0A`));
}

/** Whether a UDP socket is bound to 127.0.0.1:port (from /proc/net/udp). */
function udpBound(port: number): boolean {
	const hex = port.toString(16).toUpperCase().padStart(4, '0');
	return readFileSync('/proc/net/udp', 'utf8').split('\n').some(line => line.includes(`0100007F:${hex} 00000000:0000`));
}
