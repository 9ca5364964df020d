/**
 * The one output sanitiser, for every face. Text from agents, scripts, allowlists and callers is
 * made safe for a person's terminal and for whatever reads our JSON:
 *
 * - `visible` (plain output, the console, the agent CLI): every control character except tab
 *   (escape sequences included, C1's CSI U+009B too), the bidirectional controls that can reorder
 *   what is shown, the zero-width characters that hide text, and the line and paragraph
 *   separators some terminals and log viewers break lines at, are replaced by a visible
 *   `\xHH` / `\u{HHHH}` spelling. A host cannot repaint the screen or disguise a name.
 * - `safeJson` (`--json`, the REST API): the same characters stay in the value but are written as
 *   JSON escapes (`\u009b`, `\u202e`, `\u200b`), so the document parses to exactly what was sent
 *   and no raw control reaches a terminal that shows it. JSON.stringify already escapes C0; these
 *   can only occur inside strings, so replacing them in the text is exact.
 */
const unsafe = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;
const unsafeInJson = /[\u007F-\u009F\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

export function visible(text: string): string {
	return text.replace(unsafe, character => {
		const code = character.codePointAt(0)!;
		return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
	});
}

/** Each line of a block made visible; the newlines between lines are kept as line breaks. */
export function visibleLines(text: string): string[] {
	return text.split('\n').map(line => visible(line));
}

/** JSON.stringify, with every character `visible` spells out written as a JSON escape. */
export function safeJson(value: unknown, indent?: number | string): string {
	return JSON.stringify(value, undefined, indent).replace(unsafeInJson, character => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
