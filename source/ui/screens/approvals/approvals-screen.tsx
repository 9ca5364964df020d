/** The approvals screen as the console shell places it: its state, its keys and its view together. */
import type {ApprovalsFace} from '../../../approvals/face.js';
import {Approvals} from './approvals.js';
import {useApprovals, type ApprovalsHandlers} from './use-approvals.js';
import {useApprovalsState} from './use-approvals-state.js';

export type ApprovalsScreenProps = ApprovalsHandlers & {approvals: ApprovalsFace; height: number; width: number; now: number; isActive?: boolean; refreshMs?: number};

export function ApprovalsScreen({approvals, height, width, now, isActive = true, refreshMs, ...handlers}: ApprovalsScreenProps) {
	const [state, dispatch] = useApprovalsState();
	useApprovals(state, dispatch, approvals, handlers, {isActive, ...(refreshMs === undefined ? {} : {refreshMs})});
	return <Approvals state={state} height={height} width={width} now={now}/>;
}
