import {limits} from './frames.js';
import {hasLoneSurrogate, hasNul, utf8Bytes} from './text-checks.js';

/**
 * The limits on a script's arguments, checked by the controller before sending and by the agent
 * on receipt. Arguments are data: newlines and tabs are allowed, a NUL byte is not (it cannot be
 * passed in argv and would be cut silently), nor a lone surrogate (argv is bytes: it would reach
 * the script as U+FFFD, not as what the hook approved and the audit recorded). Returns the
 * problem, or undefined.
 */
export function checkArgs(args: readonly string[]): string | undefined {
	if (args.length > limits.argCount) {
		return `${args.length} arguments given; the limit is ${limits.argCount}`;
	}

	let total = 0;
	for (const [index, argument] of args.entries()) {
		if (hasNul(argument)) {
			return `argument ${index + 1} contains a NUL byte`;
		}

		if (hasLoneSurrogate(argument)) {
			return `argument ${index + 1} is not well-formed Unicode (a lone surrogate), which argv cannot carry as it is`;
		}

		const bytes = utf8Bytes(argument);
		if (bytes > limits.argBytes) {
			return `argument ${index + 1} is ${bytes} bytes; the limit is ${limits.argBytes}`;
		}

		total += bytes;
	}

	if (total > limits.argsTotalBytes) {
		return `arguments total ${total} bytes; the limit is ${limits.argsTotalBytes}`;
	}

	return undefined;
}
