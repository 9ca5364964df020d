/**
 * One read of the terminal, as the keys in it. Ink hands over a whole chunk of text at once (a
 * paste, a burst typed over a slow link, several `tmux send-keys` arguments): `jjj`, or
 * `site=london\rr` with its Enter in the middle. Split here, each key is handled on the screen it
 * reaches, exactly as if typed one by one. Escape sequences (arrows, PgUp, …) Ink has already
 * split; Escape followed at once by a letter reads as Alt+letter, and the console has no Alt keys:
 * it is Escape, then the letter. Pure.
 */
import type {Key} from 'ink';

export type KeyPress = {input: string; key: Key};

const specialKeys = ['upArrow', 'downArrow', 'leftArrow', 'rightArrow', 'pageDown', 'pageUp', 'home', 'end', 'return', 'escape', 'tab', 'backspace', 'delete'] as const;

/** The same key with no flag set: the base for each key split out of a chunk. */
function plain(key: Key): Key {
	const copy = {...key};
	for (const [name, value] of Object.entries(copy)) {
		if (typeof value === 'boolean') {
			(copy as Record<string, unknown>)[name] = false;
		}
	}

	return copy;
}

/** One character of a chunk as the key Ink would have reported had it come alone. */
function keyOf(character: string, base: Key): KeyPress {
	const code = character.codePointAt(0)!;
	if (character === '\r' || character === '\n') {
		return {input: '', key: {...base, return: true}};
	}

	if (character === '\t') {
		return {input: '', key: {...base, tab: true}};
	}

	if (character === '\u007F') {
		return {input: '', key: {...base, delete: true}};
	}

	if (character === '\b') {
		return {input: '', key: {...base, backspace: true}};
	}

	if (code < 0x20) {
		// Ctrl-A … Ctrl-Z, as Ink names them: the letter, with ctrl.
		return {input: String.fromCodePoint(code + 0x60), key: {...base, ctrl: true}};
	}

	return {input: character, key: {...base, shift: /^[A-Z]$/.test(character)}};
}

export function splitKeys(input: string, key: Key): KeyPress[] {
	const characters = [...input];
	if (key.meta && !key.ctrl && characters.length === 1 && !specialKeys.some(name => key[name])) {
		const base = plain(key);
		return [{input: '', key: {...base, escape: true, meta: true}}, keyOf(characters[0]!, base)];
	}

	if (characters.length <= 1 || key.ctrl || key.meta || specialKeys.some(name => key[name])) {
		return [{input, key}];
	}

	const base = plain(key);
	return characters.map(character => keyOf(character, base));
}
