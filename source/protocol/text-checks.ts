/** Checks on names and strings that cross a trust boundary, shared by controller and agent. */

/** Script names: lower-case letters, digits, dot, dash, underscore; refused before any lookup. */
export const scriptNamePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Agent names: also DNS-friendly; `all` is reserved for the selector meaning every agent. */
export const agentNamePattern = /^[a-z0-9][a-z0-9.-]{0,62}$/;
export const reservedAgentNames = new Set(['all']);

export function hasNul(text: string): boolean {
	return text.includes('\0');
}

/** C0 controls, DEL and C1 controls. */
export function hasControl(text: string): boolean {
	return /[\u0000-\u001F\u007F-\u009F]/.test(text);
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const loneSurrogates = new RegExp(loneSurrogate.source, 'g');

/** A lone UTF-16 surrogate: JSON can carry one, but written out as UTF-8 it becomes U+FFFD, another text. */
export function hasLoneSurrogate(text: string): boolean {
	return loneSurrogate.test(text);
}

/** `text` with each lone surrogate as U+FFFD, as UTF-8 would write it. */
export function withLoneSurrogatesReplaced(text: string): string {
	return text.replaceAll(loneSurrogates, '\uFFFD');
}

export function isScriptName(text: string): boolean {
	return scriptNamePattern.test(text);
}

export function isAgentName(text: string): boolean {
	return agentNamePattern.test(text) && !reservedAgentNames.has(text);
}

export function utf8Bytes(text: string): number {
	return Buffer.byteLength(text, 'utf8');
}
