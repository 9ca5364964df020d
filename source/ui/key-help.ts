/**
 * Every key of every screen (and of each step of the run screen), in one table: the footer shows
 * the first few that fit, `?` lists them all for the screen it was pressed on. A screen's handler
 * and its row here change together. Pure.
 */
export type KeyPlace =
	| 'fleet' | 'filter' | 'agent'
	| 'pick' | 'args' | 'confirm' | 'control' | 'running' | 'canary' | 'finished'
	| 'output' | 'output-search' | 'pairing' | 'audit' | 'audit-run' | 'history' | 'history-search' | 'help';

/** `short`: how the footer says it, when shorter than the keys and their meaning. */
export type KeyRow = [keys: string, meaning: string, short?: string];

const move: KeyRow = ['↑↓ j k', 'move', '↑↓ move'];
const page: KeyRow = ['PgUp PgDn Home End', 'a page, the ends', 'PgUp PgDn page'];
const quit: KeyRow = ['Ctrl-C', 'quit'];

export const keyTable: Record<KeyPlace, KeyRow[]> = {
	fleet: [move, ['/', 'filter'], ['Enter', 'the agent\'s details', 'Enter open'], ['r', 'run on the agents shown', 'r run'], ['p', 'pair new agents', 'p pair'], ['h', 'run history', 'h history'], ['?', 'every key', '? help'], ['q', 'quit'], ['a', 'audit trail'], page, ['g', 'ask every agent again'], ['Esc', 'clear the filter'], quit],
	filter: [['type', 'env=production role=db; a bare word matches names', 'type the filter'], ['Enter', 'keep the filter', 'Enter keep'], ['Esc', 'clear it', 'Esc clear'], ['Backspace', 'erase'], quit],
	agent: [['r', 'run on this agent'], ['h', 'the runs on this agent', 'h its runs'], ['Esc', 'back'], ['?', 'help'], quit],
	pick: [move, ['Enter', 'pick'], ['Esc', 'back'], ['?', 'every key', '? help'], page, quit],
	args: [['type', 'arguments: words, quotes, or a JSON array', 'type the arguments'], ['Enter', 'go on'], ['Esc', 'back'], ['Backspace', 'erase'], quit],
	confirm: [['Enter', 'run'], ['d', 'dry run: which hosts would run it, in which order', 'd dry run'], ['b m c t', 'set --batch, --max-failures, --canary, --timeout', 'b m c t controls'], ['digits', 'the count, when the script asks for it', 'digits the count if asked'], ['Esc', 'back'], ['?', 'every key', '? help'], quit],
	control: [['type', 'N, N% (batch, max failures) or N (canary, seconds)', 'type the value'], ['Enter', 'set it (empty: none)', 'Enter set'], ['Esc', 'leave it as it was', 'Esc keep'], ['Backspace', 'erase'], quit],
	running: [move, ['Enter', 'a host\'s whole output', 'Enter output'], ['c', 'cancel (asks first)', 'c cancel'], ['?', 'every key', '? help'], page, ['Ctrl-C', 'quit (asks first)']],
	canary: [['y', 'run on the other hosts', 'y go on'], ['n', 'stop after the canary', 'n stop here'], move, ['Enter', 'a host\'s whole output', 'Enter output'], ['c', 'cancel (asks first)', 'c cancel'], ['?', 'every key', '? help'], page, ['Ctrl-C', 'quit (asks first)']],
	finished: [move, ['Enter', 'a host\'s whole output', 'Enter output'], ['f', 'rerun the hosts not ok', 'f rerun failed'], ['a', 'this run\'s audit records', 'a audit'], ['Esc', 'back'], ['?', 'every key', '? help'], page, quit],
	output: [['↑↓ j k', 'scroll', '↑↓ scroll'], ['/', 'search'], ['n N', 'next, previous match', 'n next'], ['Esc', 'back'], ['?', 'every key', '? help'], page, quit],
	'output-search': [['type', 'the text to find'], ['Enter', 'find'], ['Esc', 'stop searching'], quit],
	pairing: [['↑↓ j k', 'select request', '↑↓ select request'], ['digits Enter', 'the agent\'s code, then approve', 'type the agent\'s code, Enter approves'], ['x', 'reject'], ['Esc', 'back, and stop listening', 'Esc back'], ['l', 'back, and keep listening (a notice on every screen)', 'l keep listening'], ['Backspace', 'erase a digit'], quit],
	audit: [['↑↓', 'scroll'], ['g', 'read again'], ['?', 'every key', '? help'], ['Esc', 'back'], quit],
	'audit-run': [['↑↓', 'scroll'], ['g', 'read again'], ['A', 'all requests, not only this run\'s', 'A all requests'], ['?', 'every key', '? help'], ['Esc', 'back to the run', 'Esc back'], quit],
	history: [move, ['Enter', 'open the run', 'Enter open'], ['/', 'search the runs: script, arguments, hosts and output', '/ search'], ['Esc', 'back (clears a search first)', 'Esc back'], ['g', 'read again'], ['?', 'every key', '? help'], page, quit],
	'history-search': [['type', 'the text to find in the runs and their output', 'type the text to find'], ['Enter', 'keep the search', 'Enter keep'], ['Esc', 'clear it', 'Esc clear'], ['Backspace', 'erase'], quit],
	help: [['any key', 'back', 'any key: back']],
};

/** The footer: the place's keys (or the rows given, for a screen added to the console), as many as fit `width`, each whole. */
export function footer(place: KeyPlace | readonly KeyRow[], width: number): string {
	let line = '';
	for (const [keys, meaning, short] of typeof place === 'string' ? keyTable[place] : place) {
		const item = short ?? `${keys} ${meaning}`;
		const next = line === '' ? item : `${line} · ${item}`;
		if ([...next].length > width) {
			break;
		}

		line = next;
	}

	return line;
}
