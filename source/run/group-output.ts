/**
 * Groups hosts whose exit code and output are identical after normalising trailing whitespace,
 * as ClusterShell's clubak does: the largest group first, then the odd ones out. Pure.
 */
import type {AgentResult} from './events.js';

export type OutputGroup = {agents: string[]; folded: string; status: AgentResult['status']; exitCode: number | null; stdout: string; stderr: string};

const normalise = (text: string) => text.split('\n').map(line => line.trimEnd()).join('\n').trimEnd();

export function groupResults(results: readonly AgentResult[]): OutputGroup[] {
	const groups = new Map<string, OutputGroup>();
	for (const result of results) {
		const stdout = normalise(result.stdout);
		const stderr = normalise(result.stderr);
		const key = JSON.stringify([result.status, result.exitCode, stdout, stderr]);
		const group = groups.get(key) ?? {agents: [], folded: '', status: result.status, exitCode: result.exitCode, stdout, stderr};
		group.agents.push(result.agent);
		groups.set(key, group);
	}

	return [...groups.values()]
		// Names in natural order (web2 before web10), whatever order the hosts finished in.
		.map(group => ({...group, agents: group.agents.sort(byNaturalName), folded: foldNames(group.agents)}))
		.sort((a, b) => b.agents.length - a.agents.length || a.folded.localeCompare(b.folded));
}

const byNaturalName = (a: string, b: string) => a.localeCompare(b, 'en', {numeric: true});

/**
 * Whether a range that starts at `first` can go on to `next` and still parse back to the same names
 * (policy/name-ranges.ts): padded numbers keep their width (`[08-11]`), unpadded ones need none
 * (`[1-40]` is web1 to web40).
 */
const padded = (text: string) => text.length > 1 && text.startsWith('0');
const sameWidth = (first: string, next: string) => first.length === next.length || (!padded(first) && !padded(next));

/** `web1 web2 web3 web4 web7 db1` → `db1,web[1-4,7]`: names with a numeric suffix folded by prefix. */
export function foldNames(names: readonly string[]): string {
	const byPrefix = new Map<string, Array<{text: string; value: number}>>();
	const plain: string[] = [];
	for (const name of names) {
		const match = /^(.*?)(\d+)$/.exec(name);
		if (match && match[1] !== '') {
			const list = byPrefix.get(match[1]!) ?? [];
			list.push({text: match[2]!, value: Number(match[2])});
			byPrefix.set(match[1]!, list);
		} else {
			plain.push(name);
		}
	}

	const folded = [...byPrefix.entries()].map(([prefix, numbers]) => {
		if (numbers.length === 1) {
			return prefix + numbers[0]!.text;
		}

		// By value, then by spelling: `web1` and `web01` fold the same whatever order they finished in.
		const sorted = [...numbers].sort((a, b) => a.value - b.value || a.text.localeCompare(b.text));
		const ranges: string[] = [];
		for (let index = 0; index < sorted.length;) {
			let end = index;
			while (end + 1 < sorted.length && sorted[end + 1]!.value === sorted[end]!.value + 1 && sameWidth(sorted[index]!.text, sorted[end + 1]!.text)) {
				end++;
			}

			ranges.push(end === index ? sorted[index]!.text : `${sorted[index]!.text}-${sorted[end]!.text}`);
			index = end + 1;
		}

		return `${prefix}[${ranges.join(',')}]`;
	});
	return [...plain, ...folded].sort().join(',');
}
