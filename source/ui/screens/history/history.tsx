/**
 * Past runs, newest first: when, what, how it went, on which selector and by whom; Enter opens
 * one. `/` searches them (script, arguments, hosts, reasons and output): each run found by its
 * output shows the first host and line that hold the text. Opened from an agent's details, only
 * the runs on that agent.
 */
import {Box, Text} from 'ink';
import {countStatuses} from '../../../run/run-state.js';
import {formatSummary} from '../../../output/run-summary.js';
import {visible} from '../../../output/visible.js';
import {theme} from '../../theme.js';
import {listWindow} from '../run/run-layout.js';
import {foundRuns, type HistoryState} from './use-history-state.js';

export function History({state, height}: {state: HistoryState; height: number}) {
	if (state.error) {
		return <Text color={theme.bad}>{`The run history could not be read: ${visible(state.error)}`}</Text>;
	}

	if (!state.runs) {
		return <Text color={theme.dim}>Reading the run history...</Text>;
	}

	const {filter} = state;
	const found = foundRuns(state);
	const searching = state.editing || filter.text !== '';
	const onAgent = filter.agent === undefined ? '' : ` on ${visible(filter.agent)}`;
	const withText = filter.text === '' ? '' : ` holding "${visible(filter.text)}"`;
	const title = state.runs.length === 0
		? 'No runs yet: r on the fleet starts one.'
		: (found.length === state.runs.length ? `${found.length} ${found.length === 1 ? 'run' : 'runs'}${onAgent}, newest first` : `${found.length} of ${state.runs.length} runs${onAgent}${withText}, newest first`);
	// A run found by its output takes a second line: where the text is.
	const perRun = filter.text === '' ? 1 : 2;
	const window = listWindow(found.length, state.cursor, Math.max(3, Math.floor((height - 1 - (searching ? 1 : 0)) / perRun)));
	return (
		<Box flexDirection="column">
			{searching ? (
				<Box>
					<Text color={theme.accent}>Search (/): </Text>
					<Text>{visible(filter.text)}</Text>
					{state.editing ? <Text inverse> </Text> : null}
					<Text color={theme.dim}>{state.editing ? '   script, arguments, hosts and output of each run' : '   Esc clears it'}</Text>
				</Box>
			) : null}
			<Text bold color={state.runs.length === 0 ? theme.dim : undefined}>{title}</Text>
			{window.above > 0 ? <Text color={theme.dim}>{`↑ ${window.above} more`}</Text> : null}
			{found.slice(window.start, window.end).map(({run, where}, offset) => {
				const {header} = run;
				const summary = formatSummary(countStatuses(run.results));
				return (
					<Box key={header.requestId} flexDirection="column">
						<Text inverse={window.start + offset === state.cursor} wrap="truncate">
							{header.startedAt.slice(0, 19).replace('T', ' ')}  {visible(header.script)}{header.args.length > 0 ? ' ' + visible(JSON.stringify(header.args)) : ''}  <Text color={run.results.some(result => result.status !== 'ok') ? theme.bad : theme.good}>{summary || 'no targets'}</Text>{run.complete ? '' : ' (incomplete)'}  <Text color={theme.dim}>{`--on ${visible(header.selector.join(' --on '))}  ${visible(header.caller)}`}</Text>
						</Text>
						{where === undefined ? null : <Text color={theme.dim} wrap="truncate">{`    ${where}`}</Text>}
					</Box>
				);
			})}
			{window.below > 0 ? <Text color={theme.dim}>{`${window.below} more ↓`}</Text> : null}
		</Box>
	);
}
