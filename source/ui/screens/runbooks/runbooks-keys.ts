/** The runbook screen's keys at each of its steps, for the footer and `?` (key-help.ts's rows). */
import type {KeyRow} from '../../key-help.js';
import type {RunbooksState} from './use-runbooks-state.js';

export type RunbooksPlace = 'list' | 'params' | 'plan' | 'running' | 'confirm' | 'canary' | 'ended';

const quit: KeyRow = ['Ctrl-C', 'quit'];

export const runbooksKeys: Record<RunbooksPlace, KeyRow[]> = {
	list: [['↑↓ j k', 'select a runbook (or a run)', '↑↓ select'], ['Enter', 'fill its parameters; on a run: resume it (its secret parameters asked again, then its dry run)', 'Enter open'], ['Tab', 'the runbook runs, newest first, or back to the runbooks', 'Tab runs'], ['g', 'read the files again'], ['Esc', 'back'], ['?', 'every key', '? help'], quit],
	params: [['↑↓ Tab', 'the next, previous parameter', '↑↓ field'], ['type', 'the value (secret ones are masked)', 'type'], ['← →', 'choose a value (a choice, yes or no)', '← → choose'], ['Enter', 'dry run: each step\'s hosts and their policy answer', 'Enter dry run'], ['Esc', 'back to the runbooks', 'Esc back'], ['Backspace', 'erase'], quit],
	plan: [['Enter', 'run it', 'Enter run'], ['↑↓ j k', 'scroll', '↑↓ scroll'], ['PgUp PgDn', 'a page'], ['Esc', 'change the parameters', 'Esc back'], ['?', 'every key', '? help'], quit],
	running: [['↑↓ j k', 'choose a step (its hosts are shown)', '↑↓ step'], ['← → h l', 'choose a host in the step', '← → host'], ['c', 'cancel: the step running stops on every host, nothing after it runs (asks first)', 'c cancel'], ['?', 'every key', '? help'], ['Ctrl-C', 'quit (asks first)']],
	confirm: [['digits', 'the number the step asks for'], ['Enter', 'answer'], ['Esc', 'no: the step does not run', 'Esc no'], ['Backspace', 'erase'], ['Ctrl-C', 'quit (asks first)']],
	canary: [['y', 'run the step on its other hosts', 'y go on'], ['n', 'stop after the canary', 'n stop'], ['↑↓ j k', 'choose a step', '↑↓ step'], ['c', 'cancel (asks first)', 'c cancel'], ['Ctrl-C', 'quit (asks first)']],
	ended: [['↑↓ j k', 'choose a step (its hosts are shown)', '↑↓ step'], ['← → h l', 'choose a host in the step', '← → host'], ['Esc', 'back to the runbooks', 'Esc back'], ['?', 'every key', '? help'], quit],
};

export function runbooksPlace(state: RunbooksState): RunbooksPlace {
	if (state.step !== 'running') {
		return state.step;
	}

	if (state.end) {
		return 'ended';
	}

	return state.question?.kind ?? 'running';
}
