/**
 * The runbook screen: the runbooks in the controller's home; a runbook's parameters as typed
 * fields (secrets masked); its dry run (each step's script, hosts and each host's policy answer,
 * nothing run); then the run: its steps as a list with their outcome, and the chosen step's hosts
 * as the run screen's panes. Every frame stays within `height` lines.
 */
import {Box, Text} from 'ink';
import {formatSummary} from '../../../output/run-summary.js';
import {visible} from '../../../output/visible.js';
import {countPhases} from '../../../run/run-state.js';
import {Spinner} from '../../frame-clock.js';
import {theme} from '../../theme.js';
import {listWindow} from '../run/run-layout.js';
import {formatSeconds, HostPanes} from '../run/run.js';
import type {RunbookRunEntry} from '../../core.js';
import {fieldText, fieldType} from './runbook-fields.js';
import {planLines, type PlanLine} from './plan-lines.js';
import type {StepPhase, StepView} from './runbook-steps.js';
import {canResume, shownStep, type ListStep, type ParamsStep, type PlanStep, type RunbooksState, type RunningStep} from './use-runbooks-state.js';

export type RunbooksProps = {state: RunbooksState; height: number; width: number; now: number};

export function Runbooks({state, height, width, now}: RunbooksProps) {
	switch (state.step) {
		case 'list': {
			return <RunbookList state={state} height={height}/>;
		}

		case 'params': {
			return <Parameters state={state}/>;
		}

		case 'plan': {
			return <DryRun state={state} height={height}/>;
		}

		case 'running': {
			return <RunbookRun state={state} height={height} width={width} now={now}/>;
		}
	}
}

function RunbookList({state, height}: {state: ListStep; height: number}) {
	if (state.view === 'runs') {
		return <RunbookRuns state={state} height={height}/>;
	}

	const entries = state.entries ?? [];
	const window = listWindow(entries.length, state.cursor, Math.max(1, height - 3));
	const toResume = (state.runs ?? []).filter(run => canResume(run.status)).length;
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">{state.entries === undefined ? 'Reading the runbooks...' : entries.length === 0 ? 'No runbooks yet: put NAME.yaml files in the runbooks/ directory of the controller\'s home (README: Runbooks), then g.' : `${entries.length} ${entries.length === 1 ? 'runbook' : 'runbooks'}: Enter to fill one's parameters and see its dry run`}</Text>
			{window.above > 0 ? <Text color={theme.dim}>{`↑ ${window.above} more`}</Text> : null}
			{entries.slice(window.start, window.end).map((entry, offset) => {
				const about = entry.problems.length > 0
					? `invalid: ${visible(entry.problems[0]!)}`
					: `${entry.steps} ${entry.steps === 1 ? 'step' : 'steps'}${entry.parameters.length > 0 ? `  ${entry.parameters.map(parameter => parameter.name).join(' ')}` : ''}${entry.description ? `  ${visible(entry.description)}` : ''}`;
				return (
					<Text key={entry.name} inverse={window.start + offset === state.cursor} color={entry.problems.length > 0 ? theme.bad : undefined} wrap="truncate">
						{`${visible(entry.name).padEnd(22)} ${about}`}
					</Text>
				);
			})}
			{window.below > 0 ? <Text color={theme.dim}>{`${window.below} more ↓`}</Text> : null}
			{state.runs && state.runs.length > 0 ? <Text color={toResume > 0 ? theme.warn : theme.dim} wrap="truncate">{`Tab: their runs (${state.runs.length}${toResume > 0 ? `, ${toResume} to resume` : ''})`}</Text> : null}
			{state.error ? <Text color={theme.bad}>{visible(state.error)}</Text> : null}
		</Box>
	);
}

const runSymbols: Record<RunbookRunEntry['status'], string> = {ok: '✓', failed: '✗', cancelled: '■', waiting: '⧖', interrupted: '!', running: '▶'};

/** The runbook runs in the history, newest first; Enter resumes the chosen one. */
function RunbookRuns({state, height}: {state: ListStep; height: number}) {
	const runs = state.runs ?? [];
	const window = listWindow(runs.length, state.cursor, Math.max(1, height - 3));
	const chosen = runs[state.cursor];
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">{runs.length === 0 ? 'No runbook runs yet. Tab: the runbooks' : `${runs.length} runbook ${runs.length === 1 ? 'run' : 'runs'}, newest first · Enter resumes one not ended ok · Tab: runbooks`}</Text>
			{window.above > 0 ? <Text color={theme.dim}>{`↑ ${window.above} more`}</Text> : null}
			{runs.slice(window.start, window.end).map((run, offset) => (
				<Text key={run.id} inverse={window.start + offset === state.cursor} wrap="truncate">
					{`${run.startedAt.slice(5, 16).replace('T', ' ')}  ${cut(visible(run.runbook), 18)} `}
					<Text color={run.status === 'ok' ? theme.good : run.status === 'running' ? theme.info : canResume(run.status) ? theme.bad : undefined}>{`${runSymbols[run.status]} ${run.status.padEnd(11)}`}</Text>
					{` ${`${run.stepsOk}/${run.steps} steps ok`.padEnd(16)} ${visible(run.caller)}${run.resumeOf ? `  resumes ${run.resumeOf.slice(0, 8)}` : ''}`}
				</Text>
			))}
			{window.below > 0 ? <Text color={theme.dim}>{`${window.below} more ↓`}</Text> : null}
			{chosen ? <Text color={theme.dim} wrap="truncate">{`run ${chosen.id}${chosen.reason ? `: ${visible(chosen.reason)}` : ''}`}</Text> : null}
			{state.error ? <Text color={theme.bad}>{visible(state.error)}</Text> : null}
		</Box>
	);
}

function Parameters({state}: {state: ParamsStep}) {
	const nameWidth = Math.min(20, Math.max(6, ...state.fields.map(field => field.parameter.name.length)));
	const selected = state.fields[state.cursor];
	return (
		<Box flexDirection="column">
			<Text bold>{state.resume === undefined
				? `${visible(state.entry.name)}: ${state.fields.length === 0 ? 'it takes no parameters. Enter shows its dry run.' : 'parameters. Enter shows the dry run (nothing runs yet).'}`
				: `${visible(state.entry.name)}: resuming run ${state.resume.slice(0, 8)}, its other parameters kept; give its secret ones again. Enter shows the dry run.`}</Text>
			{state.entry.description ? <Text color={theme.dim} wrap="truncate">{visible(state.entry.description)}</Text> : null}
			{state.fields.map((field, index) => (
				<Box key={field.parameter.name} flexDirection="column">
					<Box>
						<Text color={index === state.cursor ? theme.accent : undefined}>{`${index === state.cursor ? '>' : ' '} ${visible(field.parameter.name).padEnd(nameWidth)} `}</Text>
						<Text color={field.kind === 'choice' && field.chosen < 0 ? theme.dim : undefined}>{visible(fieldText(field))}</Text>
						{index === state.cursor && field.kind !== 'choice' ? <Text inverse> </Text> : null}
						<Text color={theme.dim} wrap="truncate">{`   ${fieldType(field)}${field.parameter.secret ? ', secret: shown masked, recorded as a hash' : ''}${field.parameter.default !== undefined && (field.parameter.secret || field.kind === 'json') && field.text === '' ? ', empty keeps the default' : ''}`}</Text>
					</Box>
					{field.error ? <Text color={theme.bad}>{`    ${visible(field.parameter.name)} ${visible(field.error)}`}</Text> : null}
				</Box>
			))}
			{selected?.parameter.description ? <Text color={theme.dim} wrap="truncate">{`${visible(selected.parameter.name)}: ${visible(selected.parameter.description)}`}</Text> : null}
		</Box>
	);
}

const toneColor = (tone: PlanLine['tone']) => (tone === 'good' ? theme.good : tone === 'bad' ? theme.bad : tone === 'warn' ? theme.warn : tone === 'dim' ? theme.dim : undefined);

function DryRun({state, height}: {state: PlanStep; height: number}) {
	if (state.refused !== undefined) {
		const lines = state.refused.split('\n').map(line => visible(line));
		return (
			<Box flexDirection="column">
				<Text bold>{`${visible(state.entry.name)}: refused, nothing was run. Esc changes the parameters.`}</Text>
				{lines.slice(0, height - 2).map((line, index) => <Text key={index} color={theme.bad} wrap="truncate">{line}</Text>)}
				{lines.length > height - 2 ? <Text color={theme.dim}>{`${lines.length - height + 2} more lines (xi-exec runbook show ${state.entry.name})`}</Text> : null}
			</Box>
		);
	}

	if (!state.plan) {
		return (
			<Box flexDirection="column">
				<Text bold>{`Dry run of ${visible(state.entry.name)}`}</Text>
				<Text color={theme.info}><Spinner/> Checking the runbook against the fleet and asking each step's hosts what their policy answers...</Text>
			</Box>
		);
	}

	const lines = planLines(state.plan);
	const rows = Math.max(1, height - 2);
	const scroll = Math.min(state.scroll, Math.max(0, lines.length - rows));
	const below = Math.max(0, lines.length - scroll - rows);
	return (
		<Box flexDirection="column">
			<Text bold color={theme.accent} wrap="truncate">{state.resume === undefined ? 'Dry run, nothing ran: Enter runs it · Esc changes the parameters' : `Dry run, nothing ran: Enter resumes run ${state.resume.slice(0, 8)} · Esc back`}</Text>
			{lines.slice(scroll, scroll + rows).map((line, index) => <Text key={scroll + index} bold={line.tone === 'title'} color={toneColor(line.tone)} wrap="truncate">{line.text}</Text>)}
			{scroll > 0 || below > 0 ? <Text color={theme.dim}>{`${scroll > 0 ? `↑ ${scroll} more  ` : ''}${below > 0 ? `${below} more ↓` : ''}`}</Text> : null}
		</Box>
	);
}

const phaseSymbols: Record<Exclude<StepPhase, 'running'>, string> = {waiting: '·', ok: '✓', failed: '✗', skipped: '↷', cancelled: '■', error: '!', 'not run': '–'};

function phaseColour(phase: StepPhase): string | undefined {
	switch (phase) {
		case 'ok': {
			return theme.good;
		}

		case 'failed':
		case 'error': {
			return theme.bad;
		}

		case 'cancelled': {
			return theme.warn;
		}

		case 'running': {
			return theme.info;
		}

		default: {
			return theme.dim;
		}
	}
}

function RunbookRun({state, height, width, now}: {state: RunningStep; height: number; width: number; now: number}) {
	const shown = shownStep(state);
	const step = state.steps.find(candidate => candidate.name === shown);
	const elapsed = formatSeconds((state.finishedAt ?? now) - state.startedAt);
	const status = state.end
		? `${state.end.status}${state.end.reason ? ` (${visible(state.end.reason)})` : ''} in ${elapsed}`
		: `running, ${elapsed}`;
	const extra = (state.question ? (state.question.kind === 'confirm' ? 1 + Math.ceil([...visible(state.question.text)].length / Math.max(1, width)) : 1) : 0) + (state.notice ? 1 : 0) + (state.waiting ? 1 : 0);
	// The steps' list takes what it needs, up to a third of the screen; the chosen step's hosts the rest.
	const listRows = Math.max(2, Math.min(state.steps.length, Math.floor(height / 3)));
	const window = listWindow(state.steps.length, Math.max(0, state.steps.findIndex(candidate => candidate.name === shown)), listRows);
	const listLines = Math.min(state.steps.length, listRows);
	const hostsHeight = Math.max(3, height - 3 - listLines - extra);
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">{`runbook ${visible(state.entry.name)}  `}<Text color={theme.dim}>{state.id ? `run ${state.id}` : 'starting'}</Text></Text>
			<Text color={state.end ? (state.end.status === 'ok' ? theme.good : theme.bad) : theme.info} wrap="truncate-end">{status}</Text>
			{window.above > 0 ? <Text color={theme.dim}>{`↑ ${window.above} more`}</Text> : null}
			{state.steps.slice(window.start, window.end).map(one => <StepLine key={one.name} step={one} selected={one.name === shown} width={width}/>)}
			{window.below > 0 ? <Text color={theme.dim}>{`${window.below} more ↓`}</Text> : null}
			{state.question ? <QuestionLine state={state}/> : null}
			{state.waiting ? <Text color={theme.warn} wrap="truncate-end">{`${visible(state.waiting.step)} waits for approval of request ${state.waiting.request.id}`}</Text> : null}
			{state.notice ? <Text color={theme.warn} wrap="truncate-end">{visible(state.notice)}</Text> : null}
			{step && step.run.order.length > 0
				? <HostPanes run={step.run} live={step.live} selected={state.host} height={hostsHeight} width={width}/>
				: <Text color={theme.dim}>{step ? `${visible(step.name)}: ${step.phase === 'waiting' ? 'not started yet' : visible(step.reason ?? step.phase)}` : ''}</Text>}
		</Box>
	);
}

function StepLine({step, selected, width}: {step: StepView; selected: boolean; width: number}) {
	const counts = step.run.order.length > 0 ? formatSummary(countPhases(step.run)) : '';
	const place = step.place === 'parallel' ? '∥ ' : step.place === 'handler' ? '↳ ' : '';
	const text = `${place}${visible(step.name)}  ${visible(step.script)}  ${step.phase}${counts ? `  ${counts}` : ''}${step.reason ? `  (${visible(step.reason)})` : ''}`;
	return (
		<Box width={width}>
			<Box flexShrink={0}><Text color={phaseColour(step.phase)}>{step.phase === 'running' ? <Spinner/> : phaseSymbols[step.phase]} </Text></Box>
			<Text inverse={selected} color={phaseColour(step.phase)} wrap="truncate">{text}</Text>
		</Box>
	);
}

function QuestionLine({state}: {state: RunningStep}) {
	const question = state.question!;
	return question.kind === 'confirm'
		? (
			<Box flexDirection="column">
				<Text bold color={theme.warn}>{visible(question.text)}</Text>
				<Text><Text color={theme.accent}>{'> '}</Text>{question.typed}<Text inverse> </Text></Text>
			</Box>
		)
		: <Text bold color={theme.warn} wrap="truncate-end">{`${visible(question.step)}: canary ok (${question.hosts} ${question.hosts === 1 ? 'host' : 'hosts'}). y: run on its other hosts · n: stop here`}</Text>;
}

/** Exactly `width` columns: cut with `…` when longer. */
function cut(text: string, width: number): string {
	return text.length > width ? text.slice(0, width - 1) + '…' : text.padEnd(width);
}
