/**
 * A run's outputs, each distinct text kept once: a fleet's hosts mostly print the same thing (a
 * version, "ok", a config line), and each host's output arrives as its own string, so 10,000 hosts
 * printing the same 4 KiB held 40 MiB where 4 KiB will do. Each host's result, as it finishes,
 * has its stdout and stderr replaced by the copy kept for that text (the same characters: nothing
 * a reader of the result can tell), and the later copies are left to the garbage collector.
 * Keyed by the text itself (a Map hashes it once). Pure.
 */
import type {AgentResult} from './events.js';

export type OutputSharing = {
	/** The result with its output texts replaced by the kept copies of the same texts. */
	share: (result: AgentResult) => AgentResult;
	/** How many distinct non-empty texts are kept. */
	readonly distinct: number;
};

export function createOutputSharing(): OutputSharing {
	const texts = new Map<string, string>();
	const kept = (text: string): string => {
		if (text === '') {
			return text;
		}

		const known = texts.get(text);
		if (known !== undefined) {
			return known;
		}

		texts.set(text, text);
		return text;
	};

	return {
		share: result => ({...result, stdout: kept(result.stdout), stderr: kept(result.stderr)}),
		get distinct() {
			return texts.size;
		},
	};
}
