/**
 * The badge the console shows on every screen while runs wait for approval: the count of pending
 * requests, read through the approvals port every `refreshMs`. Nothing while none wait, or when
 * the console has no approvals port.
 */
import {Text} from 'ink';
import {useEffect, useState} from 'react';
import type {ApprovalsFace} from '../../../approvals/face.js';
import {theme} from '../../theme.js';

export function usePendingApprovals(approvals: ApprovalsFace | undefined, refreshMs = 5000): number {
	const [pending, setPending] = useState(0);
	useEffect(() => {
		if (!approvals) {
			return;
		}

		let stopped = false;
		const read = async () => {
			try {
				const requests = await approvals.list();
				if (!stopped) {
					setPending(requests.filter(request => request.state === 'pending').length);
				}
			} catch {
				// The approvals screen says what is wrong; the badge just stays as it was.
			}
		};

		void read();
		const timer = setInterval(() => void read(), refreshMs);
		return () => {
			stopped = true;
			clearInterval(timer);
		};
	}, [approvals, refreshMs]);
	return pending;
}

export function ApprovalsBadge({approvals, refreshMs}: {approvals: ApprovalsFace | undefined; refreshMs?: number}) {
	const pending = usePendingApprovals(approvals, refreshMs);
	return pending === 0 ? null : <Text color={theme.warn} bold>{` ${pending} awaiting approval (A) `}</Text>;
}
