/**
 * Text that comes from agents or scripts (descriptions, tags, reasons, output) on its way to an
 * AI caller: control characters, escape sequences, bidirectional overrides and line separators
 * spelled out with `visible()`, and a cap. Descriptions become one line; output keeps its
 * newlines and is cut at a byte budget on a character boundary, saying so. Pure.
 */
import {visible, visibleLines} from '../output/visible.js';

/** One line of at most `maxChars` characters (`…` marks a cut). */
export function oneLine(text: string, maxChars: number): string {
	const shown = visible(text.replaceAll('\n', ' '));
	return shown.length <= maxChars ? shown : `${shown.slice(0, maxChars - 1)}…`;
}

export type CappedOutput = {text: string; bytes: number; truncated: boolean};

/** Output made visible (newlines kept) and cut to at most `maxBytes` bytes of UTF-8. */
export function cappedOutput(text: string, maxBytes: number): CappedOutput {
	const bytes = Buffer.byteLength(text);
	const shown = visibleLines(text).join('\n');
	const encoded = Buffer.from(shown);
	if (encoded.length <= maxBytes) {
		return {text: shown, bytes, truncated: false};
	}

	// Back off to the start of a UTF-8 character (a continuation byte is 10xxxxxx).
	let end = Math.max(0, maxBytes);
	while (end > 0 && (encoded[end]! & 0xc0) === 0x80) {
		end--;
	}

	return {text: encoded.subarray(0, end).toString(), bytes, truncated: true};
}

/** Every `description` and `title` string in an agent's JSON Schema, as one capped line. */
export function sanitiseSchemaText(schema: unknown, maxChars: number): unknown {
	if (Array.isArray(schema)) {
		return schema.map(item => sanitiseSchemaText(item, maxChars));
	}

	if (typeof schema !== 'object' || schema === null) {
		return schema;
	}

	return Object.fromEntries(Object.entries(schema).map(([key, value]) => [
		key,
		(key === 'description' || key === 'title') && typeof value === 'string' ? oneLine(value, maxChars) : sanitiseSchemaText(value, maxChars),
	]));
}
