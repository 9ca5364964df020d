/**
 * Secret arguments. A script's argument schema (JSON Schema 2020-12 over the argument array) marks
 * an argument secret with `"secret": true`: on one of `prefixItems` (that position), on `items`
 * (every position after `prefixItems`) or on the schema itself (every argument). A secret is sent
 * to the agent and given to the hook and the script as is, and everywhere it is kept or shown
 * (audit records on both sides, syslog, run history, CLI output, the console) it is replaced by
 * `secret:sha256:HEX`, the SHA-256 of a domain prefix and the value. Pure.
 */
import {createHash} from 'node:crypto';

/** Which positions are secret: listed ones, and every position from `from` on (Infinity: none). */
export type SecretArgs = {positions: readonly number[]; from: number};

export const noSecrets: SecretArgs = {positions: [], from: Number.POSITIVE_INFINITY};
export const allSecret: SecretArgs = {positions: [], from: 0};

const domain = 'xi-exec secret argument v1\0';
export const secretPrefix = 'secret:sha256:';

export function secretArgsOf(schema: unknown): SecretArgs {
	if (!isObject(schema)) {
		return noSecrets;
	}

	if (schema['secret'] === true) {
		return allSecret;
	}

	const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] as unknown[] : [];
	const positions = prefix.flatMap((item, index) => (isObject(item) && item['secret'] === true ? [index] : []));
	const items = schema['items'];
	return {positions, from: isObject(items) && items['secret'] === true ? prefix.length : Number.POSITIVE_INFINITY};
}

/** The secret positions of several schemas (the same script on several agents): any one marking it makes it secret. */
export function unionSecrets(all: readonly SecretArgs[]): SecretArgs {
	return {positions: [...new Set(all.flatMap(secret => secret.positions))].sort((a, b) => a - b), from: Math.min(Number.POSITIVE_INFINITY, ...all.map(secret => secret.from))};
}

export function isSecretPosition(secret: SecretArgs, index: number): boolean {
	return index >= secret.from || secret.positions.includes(index);
}

export function hasSecrets(secret: SecretArgs, count: number): boolean {
	return Array.from({length: count}, (_, index) => index).some(index => isSecretPosition(secret, index));
}

export function hashSecret(value: string): string {
	return secretPrefix + createHash('sha256').update(domain + value, 'utf8').digest('hex');
}

/** The arguments as they may be kept or shown: each secret replaced by its hash. */
export function redactArgs(args: readonly string[], secret: SecretArgs): string[] {
	return args.map((value, index) => (isSecretPosition(secret, index) ? hashSecret(value) : value));
}

/** A text (a policy's reason, an error) with every secret value in it, as is or JSON-quoted, replaced by its hash (in one pass). */
export function scrubSecrets(text: string, args: readonly string[], secret: SecretArgs): string {
	const forms = new Map<string, string>();
	for (const [index, value] of args.entries()) {
		if (value !== '' && isSecretPosition(secret, index)) {
			forms.set(value, hashSecret(value));
			forms.set(JSON.stringify(value).slice(1, -1), hashSecret(value));
		}
	}

	if (forms.size === 0) {
		return text;
	}

	const pattern = new RegExp([...forms.keys()].sort((a, b) => b.length - a.length).map(form => form.replaceAll(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('|'), 'g');
	return text.replace(pattern, found => forms.get(found)!);
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
