/** Flag checks shared by both executables' commands: the value's range, named in the refusal. */
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
