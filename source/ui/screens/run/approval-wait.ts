/**
 * The run screen while its run waits for two-person approval (approvals/wait-in-place.ts): the
 * notice line says which request waits and what it needs, and Esc stops waiting — the run ends
 * there and the request stays open. Approved, the notice goes and the run starts as any other;
 * rejected (or expired, invalidated, stopped), the notice gives the reason in full.
 */
import {useRef, type Dispatch} from 'react';
import type {ApprovalWait} from '../../../approvals/wait-in-place.js';
import type {RunScreenAction} from './use-run-state.js';

export function approvalNotice(wait: ApprovalWait): string | undefined {
	switch (wait.state) {
		case 'waiting': {
			return `${wait.line} · Esc stops waiting (the request stays open)`;
		}

		case 'ended': {
			return `Not run: ${wait.reason}`;
		}

		default: {
			return undefined;
		}
	}
}

export function useApprovalWait(dispatch: Dispatch<RunScreenAction>): {onApproval: (wait: ApprovalWait) => void; waiting: () => boolean} {
	const waiting = useRef(false);
	return {
		onApproval(wait) {
			waiting.current = wait.state === 'waiting';
			dispatch({type: 'notice', text: approvalNotice(wait)});
		},
		waiting: () => waiting.current,
	};
}
