/**
 * A dry run on the confirmation: the plan the core made — its hosts in the order they would
 * start, when each starts under the run controls — and each host's answer (its allowlist, schema
 * and auth hook) to "would you run this?", as `run --dry-run` prints it. Hosts that would not
 * run come first, and the summary names them; "N more ↓" where the rows run out.
 */
import {Box, Text} from 'ink';
import {foldNames} from '../../../run/group-output.js';
import {visible} from '../../../output/visible.js';
import {theme} from '../../theme.js';
import {startsAt, type RunControls} from './run-controls.js';
import type {DryRunState} from './use-run-state.js';

/** In `rows` lines: a summary, the column heads, then one line a host. */
export function DryRunPlan({dryRun, controls, rows, width}: {dryRun: DryRunState; controls: RunControls; rows: number; width: number}) {
	if (dryRun.status === 'asking') {
		return <Text color={theme.dim}>Dry run: asking each host whether it would run this (nothing runs)…</Text>;
	}

	if (dryRun.status === 'refused') {
		return <Text color={theme.bad} wrap="wrap">{`Dry run: ${visible(dryRun.reason)}`}</Text>;
	}

	const {view} = dryRun;
	const byAgent = new Map(view.answers.map(answer => [answer.agent, answer]));
	const hosts = view.targets.map((agent, index) => ({agent, index, answer: byAgent.get(agent)}));
	const wouldNot = hosts.filter(host => !host.answer?.wouldRun);
	// The hosts that would not run first; each in the order it would start.
	const ordered = [...wouldNot, ...hosts.filter(host => host.answer?.wouldRun)];
	const room = Math.max(1, rows - 3);
	const shown = ordered.length <= room ? ordered : ordered.slice(0, room - 1);
	const nameWidth = Math.min(20, Math.max(4, ...hosts.map(host => visible(host.agent).length)));
	const numberWidth = String(hosts.length).length;
	const startsWidth = Math.max(6, ...hosts.map(host => startsAt(host.index, controls, hosts.length, view.parallel).length));
	const row = (number: string, name: string, starts: string, would: string, reason: string) => `${number.padStart(numberWidth)}  ${name.padEnd(nameWidth).slice(0, nameWidth)}  ${starts.padEnd(startsWidth)}  ${would.padEnd(9)}  ${reason}`;
	const summary = `${hosts.length - wouldNot.length} would run, ${wouldNot.length} would not${wouldNot.length > 0 ? `: ${foldNames(wouldNot.map(host => host.agent))}` : ''} (nothing ran)`;
	return (
		<Box flexDirection="column" width={width}>
			<Text wrap="truncate-end"><Text bold color={wouldNot.length > 0 ? theme.warn : theme.good}>{`Dry run: ${summary}`}</Text><Text color={theme.dim}>{`  plan ${view.planHash.slice(0, 12)}`}</Text></Text>
			<Text color={theme.dim} wrap="truncate">{row('#', 'HOST', 'STARTS', 'WOULD RUN', 'REASON')}</Text>
			{shown.map(host => (
				<Text key={host.agent} color={host.answer?.wouldRun ? undefined : theme.bad} wrap="truncate">
					{row(String(host.index + 1), visible(host.agent), startsAt(host.index, controls, hosts.length, view.parallel), host.answer?.wouldRun ? 'yes' : 'no', visible(host.answer?.reason ?? 'no answer'))}
				</Text>
			))}
			{shown.length < ordered.length ? <Text color={theme.dim}>{moreLine(ordered.slice(shown.length).map(host => host.answer?.wouldRun === true))}</Text> : null}
		</Box>
	);
}

function moreLine(wouldRun: readonly boolean[]): string {
	const not = wouldRun.filter(would => !would).length;
	return `${wouldRun.length} more ↓ (${not === 0 ? 'they would run' : `${not} of them would not run`})`;
}
