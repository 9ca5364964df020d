/**
 * `xi-exec run … --outdir DIR`, as pssh's -o/-e: DIR/HOST.out and DIR/HOST.err grow as output
 * arrives, DIR/HOST.json is the host's result (the document `runs show ID --agent HOST --json`
 * holds) once it is done. Files are 0600 (output may be sensitive), the directory is made 0700
 * when it does not exist; files of an earlier run with the same host names are replaced. Agent
 * names are safe file names ([a-z0-9][a-z0-9.-]*), checked again here.
 */
import {closeSync, mkdirSync, openSync, statSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import type {RunEvent} from '../run/events.js';
import {XiError} from '../errors.js';
import {resultDocument} from '../run/result-document.js';
import {isAgentName} from '../protocol/text-checks.js';

export type OutdirWriter = {onEvent: (event: RunEvent) => void; close: () => void};

/** Checks DIR (creating it) before the run starts, so a bad --outdir refuses before anything runs. */
export function openOutdir(directory: string): OutdirWriter {
	try {
		mkdirSync(directory, {recursive: true, mode: 0o700});
	} catch (error) {
		throw new XiError('USAGE', `--outdir ${directory}: cannot create it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {cause: error});
	}

	if (!statSync(directory).isDirectory()) {
		throw new XiError('USAGE', `--outdir ${directory} is not a directory.`);
	}

	const open = new Map<string, number>();
	const descriptor = (agent: string, stream: 'out' | 'err'): number | undefined => {
		if (!isAgentName(agent)) {
			return undefined;
		}

		const key = `${agent}.${stream}`;
		let fd = open.get(key);
		if (fd === undefined) {
			fd = openSync(join(directory, key), 'w', 0o600);
			open.set(key, fd);
		}

		return fd;
	};

	const closeHost = (agent: string) => {
		for (const stream of ['out', 'err'] as const) {
			const key = `${agent}.${stream}`;
			const fd = open.get(key);
			if (fd !== undefined) {
				closeSync(fd);
				open.delete(key);
			}
		}
	};

	return {
		onEvent(event: RunEvent) {
			if (event.type === 'agent-output') {
				const fd = descriptor(event.agent, event.stream === 'stdout' ? 'out' : 'err');
				if (fd !== undefined) {
					writeSync(fd, event.data);
				}
			} else if (event.type === 'agent-finished' && isAgentName(event.result.agent)) {
				// Both files exist for every host, empty when it printed nothing.
				descriptor(event.result.agent, 'out');
				descriptor(event.result.agent, 'err');
				closeHost(event.result.agent);
				writeFileSync(join(directory, `${event.result.agent}.json`), `${JSON.stringify(resultDocument(event.result), null, 2)}\n`, {mode: 0o600});
			}
		},
		close() {
			for (const fd of open.values()) {
				closeSync(fd);
			}

			open.clear();
		},
	};
}
