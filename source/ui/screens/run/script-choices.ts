/** Which scripts the chosen targets offer (as the core's agents view has them), and how many of them have each. Pure. */
import type {AgentScriptView} from '../../../core/agents-view.js';

/** `problem`: why the core refuses the script's advertised argument schema (the run would be refused). */
export type ScriptChoice = {name: string; description: string; schema?: unknown; agents: string[]; confirm: boolean; maxTargets?: number; problem?: string};

export function scriptChoices(targets: ReadonlyArray<{name: string; status: string; scripts: readonly AgentScriptView[]}>): ScriptChoice[] {
	const byName = new Map<string, ScriptChoice>();
	for (const target of targets) {
		if (target.status !== 'reachable') {
			continue;
		}

		for (const script of target.scripts) {
			const choice = byName.get(script.name) ?? {name: script.name, description: script.description, agents: [], confirm: false, ...(script.args === null ? {} : {schema: script.args})};
			choice.agents.push(target.name);
			choice.confirm ||= script.confirm;
			if (script.maxTargets !== null) {
				choice.maxTargets = Math.min(choice.maxTargets ?? script.maxTargets, script.maxTargets);
			}

			if (script.schemaProblem !== null) {
				choice.problem ??= script.schemaProblem;
			}

			byName.set(script.name, choice);
		}
	}

	// By name: the list does not reorder when a host joins, so keys remembered (↓↓↓ Enter) pick the same script.
	return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Arguments as typed in the console: a JSON array of strings (`["a b", "--force"]`), or words
 * separated by spaces with '…' or "…" quoting. Nothing is expanded: this is not a shell.
 */
export function parseArgsInput(text: string): {ok: true; args: string[]} | {ok: false; reason: string} {
	const trimmed = text.trim();
	if (trimmed.startsWith('[')) {
		try {
			const value: unknown = JSON.parse(trimmed);
			if (Array.isArray(value) && value.every(item => typeof item === 'string')) {
				return {ok: true, args: value};
			}
		} catch {
			// Fall through to the message below.
		}

		return {ok: false, reason: 'a JSON array of strings was expected, like ["a b", "--force"]'};
	}

	const args: string[] = [];
	let current: string | undefined;
	let quote: '"' | "'" | undefined;
	for (const character of trimmed) {
		if (quote) {
			if (character === quote) {
				quote = undefined;
			} else {
				current += character;
			}
		} else if (character === '"' || character === "'") {
			quote = character;
			current ??= '';
		} else if (/\s/.test(character)) {
			if (current !== undefined) {
				args.push(current);
				current = undefined;
			}
		} else {
			current = (current ?? '') + character;
		}
	}

	if (quote) {
		return {ok: false, reason: `a ${quote} quote is not closed`};
	}

	if (current !== undefined) {
		args.push(current);
	}

	return {ok: true, args};
}
