/** Past runs, newest first: when, who, what, on which selector, and how it went; Enter opens one. */
import {Box, Text} from 'ink';
import {countStatuses} from '../../../run/run-state.js';
import {formatSummary} from '../../../output/run-summary.js';
import {visible} from '../../../output/visible.js';
import {theme} from '../../theme.js';
import {listWindow} from '../run/run-layout.js';
import type {HistoryState} from './use-history-state.js';

export function History({state, height}: {state: HistoryState; height: number}) {
	if (state.error) {
		return <Text color={theme.bad}>{`The run history could not be read: ${visible(state.error)}`}</Text>;
	}

	if (!state.runs) {
		return <Text color={theme.dim}>Reading the run history...</Text>;
	}

	if (state.runs.length === 0) {
		return <Text color={theme.dim}>No runs yet: r on the fleet starts one.</Text>;
	}

	const window = listWindow(state.runs.length, state.cursor, Math.max(3, height - 1));
	return (
		<Box flexDirection="column">
			<Text bold>{`${state.runs.length} ${state.runs.length === 1 ? 'run' : 'runs'}, newest first`}</Text>
			{window.above > 0 ? <Text color={theme.dim}>{`↑ ${window.above} more`}</Text> : null}
			{state.runs.slice(window.start, window.end).map((run, offset) => {
				const {header} = run;
				const summary = formatSummary(countStatuses(run.results));
				return (
					<Text key={header.requestId} inverse={window.start + offset === state.cursor} wrap="truncate">
						{header.startedAt.slice(0, 19).replace('T', ' ')}  {visible(header.script)}{header.args.length > 0 ? ' ' + visible(JSON.stringify(header.args)) : ''}  <Text color={run.results.some(result => result.status !== 'ok') ? theme.bad : theme.good}>{summary || 'no targets'}</Text>{run.complete ? '' : ' (incomplete)'}  <Text color={theme.dim}>{`--on ${visible(header.selector.join(' --on '))}  ${visible(header.caller)}`}</Text>
					</Text>
				);
			})}
			{window.below > 0 ? <Text color={theme.dim}>{`${window.below} more ↓`}</Text> : null}
		</Box>
	);
}
