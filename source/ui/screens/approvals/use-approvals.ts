/**
 * The approvals screen's keys, and its link to the core: it reads the open requests through the
 * approvals port while shown (again every `refreshMs`, since other operators and processes
 * decide too) and sends approve and reject there; the core decides and audits.
 */
import {useCallback, useEffect, type Dispatch} from 'react';
import type {ApprovalsFace} from '../../../approvals/face.js';
import {useKeys} from '../../keys.js';
import {entryOutcome, type ApprovalsAction, type ApprovalsScreenState} from './use-approvals-state.js';

export type ApprovalsHandlers = {onBack: () => void; onHelp?: () => void};

export function useApprovals(state: ApprovalsScreenState, dispatch: Dispatch<ApprovalsAction>, approvals: ApprovalsFace, handlers: ApprovalsHandlers, options: {isActive: boolean; refreshMs?: number}): void {
	const load = useCallback(async () => {
		try {
			dispatch({type: 'loaded', requests: await approvals.list()});
		} catch (error) {
			dispatch({type: 'failed', reason: (error as Error).message});
		}
	}, [approvals, dispatch]);
	const refreshMs = options.refreshMs ?? 3000;
	useEffect(() => {
		void load();
		const timer = refreshMs > 0 ? setInterval(() => void load(), refreshMs) : undefined;
		return () => {
			clearInterval(timer);
		};
	}, [load, refreshMs]);

	useKeys((input, key) => {
		if (state.entry) {
			if (key.escape) {
				dispatch({type: 'cancel'});
			} else if (key.backspace || key.delete) {
				dispatch({type: 'erase'});
			} else if (key.return && !state.busy) {
				const outcome = entryOutcome(state);
				if (outcome && 'message' in outcome) {
					dispatch({type: 'done', message: outcome.message});
				} else if (outcome) {
					dispatch({type: 'sent'});
					void send(approvals, outcome).then(message => {
						dispatch({type: 'done', message});
						void load();
					});
				}
			} else if (input && !key.ctrl && !key.meta) {
				dispatch({type: 'type', text: input});
			}

			return;
		}

		if (key.escape || input === 'q') {
			handlers.onBack();
		} else if (key.upArrow || input === 'k') {
			dispatch({type: 'move', delta: -1});
		} else if (key.downArrow || input === 'j') {
			dispatch({type: 'move', delta: 1});
		} else if (key.return) {
			dispatch({type: 'start', kind: 'approve'});
		} else if (input === 'x') {
			dispatch({type: 'start', kind: 'reject'});
		} else if (input === 'g') {
			void load();
		} else if (input === '?') {
			handlers.onHelp?.();
		}
	}, options.isActive);
}

async function send(approvals: ApprovalsFace, outcome: {send: 'approve' | 'reject'; id: string; reason?: string}) {
	try {
		if (outcome.send === 'approve') {
			const request = await approvals.approve(outcome.id);
			return {kind: 'good' as const, text: request.state === 'approved' ? `approved: ${request.requester.token.name}'s run may start` : `your approval is counted; it still needs more`};
		}

		await approvals.reject(outcome.id, outcome.reason ?? '');
		return {kind: 'good' as const, text: `rejected; ${outcome.id.slice(0, 8)} will not run`};
	} catch (error) {
		return {kind: 'bad' as const, text: (error as Error).message};
	}
}
