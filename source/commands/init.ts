/** `xi-exec init`: the fleet CA and the controller's keys, then what to do next. */
import {initControllerHome, type ControllerPaths} from '../home.js';
import type {CommandIo} from '../io/command-io.js';

export async function initCommand(paths: ControllerPaths, io: CommandIo, now = new Date()): Promise<number> {
	const {caSha256} = await initControllerHome(paths.home, now);
	io.stdout(`Fleet CA created in ${paths.home}.\nCA fingerprint (sha256 of its public key): ${caSha256}\nNext: \`xi-exec pair --listen HOST:PORT\`, and on each new host \`xi-exec-agent pair --controller HOST:PORT\`.\n`);
	return 0;
}
