/** The controller's tokens (hashes only) in `tokens.json`, mode 0600, safe against concurrent changes. */
import {join} from 'node:path';
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import type {TokenRecord} from './tokens.js';

export type TokenFile = {version: 1; tokens: TokenRecord[]};

export function openTokenStore(home: string): LockedJsonStore<TokenFile> {
	return openLockedJsonStore<TokenFile>(join(home, 'tokens.json'), {
		what: 'token store',
		empty: () => ({version: 1, tokens: []}),
		parse(value) {
			const file = value as TokenFile | null;
			return file && file.version === 1 && Array.isArray(file.tokens) ? file : 'expected {"version": 1, "tokens": [...]}';
		},
	});
}
