/**
 * What happened on the way to one agent that its result should mention (the relay dropped a
 * duplicate, asked for a lost result, fell back from direct TLS): each distinct note once, in the
 * order first heard, with how often when more than once ("… (×12)"), at most `limit` distinct
 * notes (one more says how many were left out). Pure.
 */
export type AgentNotes = {add: (note: string) => void; list: () => string[]};

export function collectNotes(limit = 20): AgentNotes {
	const counts = new Map<string, number>();
	let dropped = 0;
	return {
		add(note) {
			const known = counts.get(note);
			if (known !== undefined) {
				counts.set(note, known + 1);
			} else if (counts.size < limit) {
				counts.set(note, 1);
			} else {
				dropped++;
			}
		},
		list() {
			const notes = [...counts].map(([note, count]) => (count > 1 ? `${note} (×${count})` : note));
			return dropped > 0 ? [...notes, `${dropped} more notes left out`] : notes;
		},
	};
}
