/** Flag checks shared by both executables: meow accepts `--parallel abc` as null, so we check. */
import {XiError} from '../errors.js';

export function positiveInteger(name: string, value: number | undefined, options: {max?: number} = {}): number | undefined {
	if (value === undefined) {
		return undefined;
	}

	if (!Number.isInteger(value) || value < 1 || (options.max !== undefined && value > options.max)) {
		throw new XiError('USAGE', `--${name} must be a whole number from 1${options.max === undefined ? '' : ` to ${options.max}`}; got ${String(value)}.`);
	}

	return value;
}

export function requireFlag<T>(name: string, value: T | undefined, hint: string): T {
	if (value === undefined || value === '') {
		throw new XiError('USAGE', `--${name} is required: ${hint}`);
	}

	return value;
}

export function usage(message: string): never {
	throw new XiError('USAGE', message);
}
