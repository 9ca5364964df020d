/**
 * Canonical JSON (RFC 8785, JCS), exactly as the `canonicalize` package writes it, about three
 * times faster on the relay's envelopes: a copy of the value with every object's keys in sorted
 * order, written by the native JSON.stringify. Every canonical text of the project is written
 * here: audit records, pairing transcripts, sealed arguments, relay envelopes. JSON.stringify
 * writes strings and numbers as the package does (the package calls JSON.stringify on each one)
 * and keys in the copy's order, which is the package's order (Object.keys sorted by UTF-16 code units) unless a key is an array index (an
 * object puts those first, in numeric order) or `__proto__`. Whatever the copy cannot stand for
 * exactly is left to the package, so that even then the bytes, or the error, are the package's:
 * such a key, a number that is not finite, a value with `toJSON`, a function, a bigint, and a
 * text whose JSON holds a `\ud800`–`\udfff` escape (a lone surrogate, which the package refuses:
 * JSON.stringify escapes one rather than throwing).
 */
import canonicalize from 'canonicalize';

/** What a value's sorted copy cannot stand for. */
const unusual = Symbol('unusual');

export function canonicalJson(value: unknown): string | undefined {
	const copy = sortedCopy(value);
	if (copy === unusual) {
		return canonicalize(value);
	}

	const text = JSON.stringify(copy);
	return text !== undefined && text.includes('\\ud') ? canonicalize(value) : text;
}

function sortedCopy(value: unknown): unknown {
	switch (typeof value) {
		case 'string':
		case 'boolean':
		case 'undefined': {
			return value;
		}

		case 'number': {
			return Number.isFinite(value) ? value : unusual;
		}

		case 'object': {
			if (value === null) {
				return null;
			}

			if (typeof (value as {toJSON?: unknown}).toJSON === 'function') {
				return unusual;
			}

			return Array.isArray(value) ? arrayCopy(value) : objectCopy(value as Record<string, unknown>);
		}

		default: {
			return unusual;
		}
	}
}

function arrayCopy(values: readonly unknown[]): unknown[] | typeof unusual {
	const copy: unknown[] = [];
	for (const value of values) {
		// An undefined or symbol element is null in both (JSON.stringify writes null for either).
		const item = typeof value === 'symbol' ? undefined : sortedCopy(value);
		if (item === unusual) {
			return unusual;
		}

		copy.push(item);
	}

	return copy;
}

function objectCopy(object: Record<string, unknown>): Record<string, unknown> | typeof unusual {
	const copy: Record<string, unknown> = {};
	for (const key of Object.keys(object).sort()) {
		const first = key.charCodeAt(0);
		if ((first >= 0x30 && first <= 0x39) || key === '__proto__') {
			return unusual;
		}

		const value = object[key];
		// Left out by both.
		if (value === undefined || typeof value === 'symbol') {
			continue;
		}

		const item = sortedCopy(value);
		if (item === unusual) {
			return unusual;
		}

		copy[key] = item;
	}

	return copy;
}
