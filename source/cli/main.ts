/**
 * The frame around every command of both executables: refuse an unsafe TLS environment, run,
 * turn an error into its exit status and one clear sentence naming its code: on stderr as
 * `PROGRAM: message (CODE)`, or under --json on stdout as `{"error": {"code", "message", "hint"}}`
 * (everything on stdout is JSON then). A stack only with --debug. Output goes through
 * standard-output.ts, so a reader going away (EPIPE) is never an error.
 */
import {errorCodes, isXiError, type ErrorCode} from '../errors.js';
import {refuseUnsafeTlsEnvironment} from '../io/refuse-unsafe-tls.js';
import {standardOutput} from '../io/standard-output.js';

export type ErrorReport = {code: ErrorCode; message: string; hint: string; exitStatus: number; stack?: string};

/** What an error thrown by a command says, whatever it is. */
export function errorReport(error: unknown): ErrorReport {
	if (isXiError(error)) {
		return {code: error.code, message: error.message, hint: error.hint ?? errorCodes[error.code].summary, exitStatus: error.exitStatus, ...(error.stack ? {stack: error.stack} : {})};
	}

	const message = `unexpected error: ${(error as Error)?.message ?? String(error)}`;
	const stack = (error as Error)?.stack;
	return {code: 'INTERNAL', message, hint: 'Run again with --debug for details, and please report it.', exitStatus: errorCodes.INTERNAL.exit, ...(stack ? {stack} : {})};
}

/** The words before `--`: flags after it belong to the script. */
function ownWords(argv: readonly string[]): readonly string[] {
	const separator = argv.indexOf('--');
	return separator === -1 ? argv : argv.slice(0, separator);
}

export function formatError(program: string, report: ErrorReport, options: {json: boolean; debug: boolean}): {stdout: string; stderr: string} {
	const stack = options.debug && report.stack ? `${report.stack}\n` : '';
	if (options.json) {
		return {stdout: `${JSON.stringify({error: {code: report.code, message: report.message, hint: report.hint}})}\n`, stderr: stack};
	}

	const hint = report.code === 'INTERNAL' && !options.debug ? `${report.hint}\n` : '';
	return {stdout: '', stderr: `${program}: ${report.message} (${report.code})\n${hint}${stack}`};
}

export async function runMain(program: string, main: () => Promise<number>): Promise<void> {
	const words = ownWords(process.argv.slice(2));
	const options = {json: words.includes('--json'), debug: words.includes('--debug')};
	const {stdout, stderr} = standardOutput();
	try {
		refuseUnsafeTlsEnvironment(process.env);
		process.exitCode = await main();
	} catch (error) {
		const report = errorReport(error);
		const text = formatError(program, report, options);
		stdout.write(text.stdout);
		stderr.write(text.stderr);
		process.exitCode = report.exitStatus;
	}
}
