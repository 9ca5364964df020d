/**
 * Everything the bench starts or creates, so that it all goes away at the end, on an error and on
 * Ctrl-C: child processes (SIGTERM, then SIGKILL after a grace period) and temporary paths.
 */
import type {ChildProcess} from 'node:child_process';
import {rmSync} from 'node:fs';

const children = new Set<ChildProcess>();
let interruptedStatus: number | undefined;

/** The exit status a signal asked for (130 for Ctrl-C), once one has arrived. */
export function interrupted(): number | undefined {
	return interruptedStatus;
}

const paths: string[] = [];
let cleaning: Promise<void> | undefined;

export function trackChild(child: ChildProcess): ChildProcess {
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
}

/** Removed at clean-up, last registered first. */
export function trackPath(path: string): string {
	paths.push(path);
	return path;
}

export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		children.delete(child);
		return;
	}

	const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	await exited;
	clearTimeout(timer);
	children.delete(child);
}

export function cleanUp(): Promise<void> {
	cleaning ??= (async () => {
		await Promise.all([...children].map(child => stopChild(child)));
		for (const path of paths.reverse()) {
			rmSync(path, {recursive: true, force: true});
		}
	})();
	return cleaning;
}

/** On Ctrl-C, SIGTERM or a crash: stop everything, remove everything, exit 130, 143 or 1. */
export function cleanUpOnSignals(): void {
	for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
		process.once(signal, () => {
			interruptedStatus = status;
			process.stderr.write(`\n${signal}: stopping the fleet and removing temporary files...\n`);
			void cleanUp().finally(() => process.exit(status));
		});
	}

	const crashed = (error: unknown) => {
		process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
		void cleanUp().finally(() => process.exit(1));
	};

	process.once('uncaughtException', crashed);
	process.once('unhandledRejection', crashed);
}

/**
 * Runs a bench entry point: clean-up on signals, its error printed (unless Ctrl-C is taking the
 * fleet away under it: that error is expected), everything removed, then exit with its status.
 */
export async function runBench(main: () => Promise<number>, log: (text: string) => void): Promise<never> {
	cleanUpOnSignals();
	let status = 1;
	try {
		status = await main();
	} catch (error) {
		if (interrupted() === undefined) {
			log((error as Error).stack ?? String(error));
		}
	} finally {
		await cleanUp();
	}

	process.exit(interrupted() ?? status);
}
