/**
 * The audit screen: the controller's recent audit records (time, event, request, agent, script,
 * outcome), of every request or of one run, under the chain's status as `xi-exec audit verify`
 * prints it (`ok: N records, chain intact, last checkpoint at N`, or the first broken record).
 */
import {Box, Text} from 'ink';
import type {AuditRecord} from '../../../audit/record.js';
import {visible} from '../../../output/visible.js';
import {theme} from '../../theme.js';
import {shownRecords, type AuditScreenState} from './use-audit-state.js';

/** Rows left for records under the chain's status, its first warning if any, what is shown and the column heads. */
export function auditRows(height: number, state: AuditScreenState): number {
	return Math.max(1, height - 3 - (state.view?.chain.warnings.length ? 1 : 0));
}

export function Audit({state, height, width}: {state: AuditScreenState; height: number; width: number}) {
	const rows = auditRows(height, state);
	const warning = state.view?.chain.warnings[0];
	const records = shownRecords(state, rows);
	const outcomeWidth = Math.max(8, width - 65);
	return (
		<Box flexDirection="column">
			<ChainStatus state={state}/>
			{warning ? <Text color={theme.warn} wrap="truncate">{`warning: ${visible(warning)}`}</Text> : null}
			<Text color={theme.dim} wrap="truncate">{summary(state, records.length)}</Text>
			<Text bold>{`${pad('TIME', 14)} ${pad('EVENT', 16)} ${pad('REQUEST', 8)} ${pad('AGENT', 10)} ${pad('SCRIPT', 12)} OUTCOME`}</Text>
			{records.map(record => (
				<Text key={`${record.log}:${record.seq}`} wrap="truncate">
					{`${pad(time(record), 14)} ${pad(visible(record.event), 16)} ${pad(requestCell(record), 8)} ${pad(agentCell(record), 10)} ${pad(text(record['script']), 12)} `}
					<Text color={outcomeColor(record)}>{pad(outcome(record), outcomeWidth)}</Text>
				</Text>
			))}
		</Box>
	);
}

function ChainStatus({state}: {state: AuditScreenState}) {
	if (state.error) {
		return <Text color={theme.bad} wrap="truncate">Cannot read the audit log: {visible(state.error)}</Text>;
	}

	if (!state.view) {
		return <Text color={theme.dim}>Reading and verifying the audit log...</Text>;
	}

	return <Text color={state.view.chain.ok ? theme.good : theme.bad} wrap="truncate">{state.view.chain.text}</Text>;
}

function summary(state: AuditScreenState, shown: number): string {
	if (!state.view) {
		return '';
	}

	const {matching} = state.view;
	const which = state.requestId === undefined ? 'All requests' : `Request ${visible(state.requestId)}`;
	if (matching === 0) {
		return `${which}: no audit records${state.requestId === undefined ? ' yet' : ''}.`;
	}

	const shownPart = shown < matching ? `, ${shown} shown` : '';
	const scrolled = state.scroll > 0 ? `, ${state.scroll} up from the most recent` : '';
	return `${which}: ${matching} ${matching === 1 ? 'record' : 'records'}${shownPart}${scrolled}`;
}

function time(record: AuditRecord): string {
	return typeof record.ts === 'string' ? `${record.ts.slice(5, 10)} ${record.ts.slice(11, 19)}` : '-';
}

function requestCell(record: AuditRecord): string {
	return typeof record['requestId'] === 'string' ? visible(record['requestId']).slice(0, 8) : '-';
}

function agentCell(record: AuditRecord): string {
	const targets = record['targets'];
	if (typeof record['agent'] === 'string') {
		return visible(record['agent']);
	}

	if (Array.isArray(targets)) {
		return targets.length === 1 ? text(targets[0]) : `${targets.length} agents`;
	}

	return '-';
}

/** What came of it: a status, a decision, an exit code, a reason; a checkpoint's size. */
export function outcome(record: AuditRecord): string {
	if (record.event === 'checkpoint') {
		return `sealed at ${String(record['size'])}`;
	}

	if (record.event === 'log.continued') {
		return `continues ${text(record['previousFile'])}`;
	}

	const parts: string[] = [];
	if (typeof record['status'] === 'string') {
		parts.push(record['status']);
	}

	if (typeof record['allowed'] === 'boolean') {
		parts.push(record['allowed'] ? 'allowed' : 'denied');
	}

	if (typeof record['exitCode'] === 'number') {
		parts.push(`exit ${record['exitCode']}`);
	}

	if (typeof record['reason'] === 'string') {
		parts.push(record['reason']);
	}

	return parts.length === 0 ? '-' : visible(parts.join(' '));
}

function outcomeColor(record: AuditRecord): string | undefined {
	const status = record['status'];
	if (status === 'ok' || record['allowed'] === true) {
		return theme.good;
	}

	if (status === 'denied' || record['allowed'] === false || status === 'timeout' || status === 'cancelled') {
		return theme.warn;
	}

	return typeof status === 'string' ? theme.bad : undefined;
}

function text(value: unknown): string {
	return typeof value === 'string' ? visible(value) : '-';
}

function pad(value: string, width: number): string {
	return value.length > width ? value.slice(0, width - 1) + '…' : value.padEnd(width);
}
