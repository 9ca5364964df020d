/**
 * The audit screen's keys, and its link to the core: it reads the controller's audit log (the
 * records and the verifier's status) through the ConsoleCore port when shown, on `g`, and when
 * the filter changes.
 */
import {useEffect, useState, type Dispatch} from 'react';
import type {ConsoleCore} from '../../core.js';
import {useKeys} from '../../keys.js';
import type {AuditAction, AuditScreenState} from './use-audit-state.js';

/** Records read at most: the screen shows the most recent, scrolled with ↑↓. */
export const auditLimit = 500;

export function useAudit(state: AuditScreenState, dispatch: Dispatch<AuditAction>, core: ConsoleCore, handlers: {onBack: () => void; onHelp: () => void; rows: number}, isActive: boolean): void {
	const [reads, setReads] = useState(0);
	useEffect(() => {
		let current = true;
		dispatch({type: 'loading'});
		core.readAudit({...(state.requestId === undefined ? {} : {requestId: state.requestId}), limit: auditLimit}).then(view => {
			if (current) {
				dispatch({type: 'loaded', view});
			}
		}, (error: unknown) => {
			if (current) {
				dispatch({type: 'failed', reason: (error as Error).message});
			}
		});
		return () => {
			current = false;
		};
	}, [core, dispatch, state.requestId, reads]);

	useKeys((input, key) => {
		if (key.escape || input === 'q') {
			handlers.onBack();
		} else if (key.upArrow || input === 'k') {
			dispatch({type: 'scroll', delta: 1, rows: handlers.rows});
		} else if (key.downArrow || input === 'j') {
			dispatch({type: 'scroll', delta: -1, rows: handlers.rows});
		} else if (input === 'g') {
			setReads(count => count + 1);
		} else if (input === 'A') {
			dispatch({type: 'show-all'});
		} else if (input === '?') {
			handlers.onHelp();
		}
	}, isActive);
}
