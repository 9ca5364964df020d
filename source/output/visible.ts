/**
 * Text from agents, made safe for a person's terminal: every control character except tab
 * (escape sequences included), and the bidirectional overrides that can reorder what is shown,
 * and the line and paragraph separators some terminals and log viewers break lines at,
 * are replaced by a visible `\xHH` / `\u{HHHH}` spelling. A host cannot repaint the screen.
 */
const unsafe = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

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
