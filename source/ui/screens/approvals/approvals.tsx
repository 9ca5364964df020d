/**
 * Approvals: the open requests, and the selected one's plan in full (every host, the arguments
 * with secrets hashed, the plan's hash, who approved). Enter asks for the number of hosts to be
 * typed and approves; x asks for a reason and rejects.
 */
import {Box, Text} from 'ink';
import {approvalLines, approvalRow} from '../../../approvals/approval-text.js';
import {visible} from '../../../output/visible.js';
import {theme} from '../../theme.js';
import {selectedRequest, type ApprovalsScreenState} from './use-approvals-state.js';

export function Approvals({state, height, width, now}: {state: ApprovalsScreenState; height: number; width: number; now: number}) {
	const selected = selectedRequest(state);
	const listRows = Math.max(1, Math.min(state.requests.length, Math.floor(height / 3)));
	const first = Math.max(0, Math.min(state.requests.findIndex(request => request.id === state.selected) - listRows + 1, state.requests.length - listRows));
	const plan = selected ? approvalLines(selected, new Date(now)) : [];
	// The list, a blank line, the plan, a blank line, the entry and the message must fit.
	const planRows = Math.max(0, height - listRows - 5);
	return (
		<Box flexDirection="column">
			<Text bold>{state.loaded ? (state.requests.length === 0 ? 'No runs wait for approval.' : `${state.requests.length} ${state.requests.length === 1 ? 'run waits' : 'runs wait'} for approval:`) : 'Reading the approval requests...'}</Text>
			{state.requests.slice(first, first + listRows).map(request => (
				<Text key={request.id} inverse={request.id === state.selected} wrap="truncate">{approvalRow(request)}</Text>
			))}
			{plan.length > 0 ? (
				<Box flexDirection="column" marginTop={1}>
					{plan.slice(0, planRows).map(line => <Text key={line} wrap="truncate">{line.slice(0, width)}</Text>)}
					{plan.length > planRows ? <Text color={theme.dim}>… {plan.length - planRows} more lines (xi-exec approvals show {selected!.id.slice(0, 8)})</Text> : null}
				</Box>
			) : null}
			{state.entry ? <Entry state={state}/> : null}
			{state.message ? <Text color={state.message.kind === 'good' ? theme.good : state.message.kind === 'bad' ? theme.bad : theme.info} wrap="truncate">{visible(state.message.text)}</Text> : null}
		</Box>
	);
}

function Entry({state}: {state: ApprovalsScreenState}) {
	const entry = state.entry!;
	const request = state.requests.find(candidate => candidate.id === entry.id);
	const prompt = entry.kind === 'approve'
		? `Type the number of hosts (${request?.summary.targets.length ?? '?'}) to approve, then Enter: `
		: 'Reason for rejecting, then Enter: ';
	return (
		<Box marginTop={1}>
			<Text color={theme.accent}>{prompt}</Text>
			<Text bold>{visible(entry.text)}</Text>
			<Text inverse> </Text>
			{state.busy ? <Text color={theme.dim}> sending...</Text> : null}
		</Box>
	);
}
