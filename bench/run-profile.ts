/**
 * BENCH_RUN_PROFILE=DIR: a V8 CPU profile of this process from now until the returned stop, written
 * to DIR/NAME as it stops: the measured runs alone, without the start-up (broker handshakes, fleet
 * creation) that node's `--cpu-prof` mixes in. Undefined when the variable is not set.
 */
import {writeFileSync} from 'node:fs';
import {Session} from 'node:inspector/promises';
import {join} from 'node:path';

export async function startRunProfile(name: string): Promise<(() => Promise<void>) | undefined> {
	const directory = process.env['BENCH_RUN_PROFILE'];
	if (!directory) {
		return undefined;
	}

	const session = new Session();
	session.connect();
	await session.post('Profiler.enable');
	await session.post('Profiler.start');
	return async () => {
		const {profile} = await session.post('Profiler.stop');
		writeFileSync(join(directory, name), JSON.stringify(profile));
		session.disconnect();
	};
}
