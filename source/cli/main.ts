/**
 * The frame around every command of both executables: refuse an unsafe TLS environment, run,
 * turn an error into one clear sentence on stderr and its exit status (a stack only with --debug).
 */
import {isXiError} from '../errors.js';
import {refuseUnsafeTlsEnvironment} from '../io/refuse-unsafe-tls.js';

export async function runMain(program: string, main: () => Promise<number>): Promise<void> {
	const debug = process.argv.includes('--debug');
	try {
		refuseUnsafeTlsEnvironment(process.env);
		process.exitCode = await main();
	} catch (error) {
		if (isXiError(error)) {
			process.stderr.write(`${program}: ${error.message}\n`);
			if (debug) {
				process.stderr.write(`${error.stack ?? ''}\n`);
			}

			process.exitCode = error.exitStatus;
			return;
		}

		process.stderr.write(`${program}: unexpected error: ${(error as Error).message ?? String(error)}\n`);
		process.stderr.write(debug ? `${(error as Error).stack ?? ''}\n` : 'Run again with --debug for details.\n');
		process.exitCode = 1;
	}
}
