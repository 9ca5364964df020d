/** The fleet: a table of agents with their status, a live tag filter and a count. */
import {Box, Text} from 'ink';
import {Spinner} from '../../frame-clock.js';
import {visible} from '../../../output/visible.js';
import {formatTags} from '../../../policy/tags.js';
import {phaseColor, theme} from '../../theme.js';
import {fleetColumns} from './fleet-columns.js';
import {filterSelection, filterTagKeys, seenAt, visibleAgents, type FleetAgent, type FleetState} from './use-fleet-state.js';

export type FleetProps = {state: FleetState; height: number; width: number; now: number};

export function Fleet({state, height, width, now}: FleetProps) {
	const shown = visibleAgents(state);
	const checking = state.agents.filter(agent => agent.status === 'checking').length;
	// Less the filter, header and position lines.
	const rows = Math.max(1, height - 4);
	const filterKeys = filterTagKeys(state.filter);
	const selection = filterSelection(state);
	const cells = state.agents.map(agent => ({name: visible(agent.name), address: visible(agent.address), tags: tagsCell(agent, filterKeys).text}));
	// The tags filtered on, as wide as the widest of the agents shown: these are never cut.
	const filtered = Math.max(0, ...shown.map(agent => tagsCell(agent, filterKeys).filtered));
	const columns = fleetColumns(width, cells, filtered);
	const start = Math.max(0, Math.min(state.cursor - Math.floor(rows / 2), shown.length - rows));
	const window = shown.slice(start, start + rows);

	return (
		<Box flexDirection="column">
			<Box>
				<Text color={theme.accent}>{state.editingFilter ? 'Filter: ' : 'Filter (/): '}</Text>
				<Text>{state.filter}</Text>
				{state.editingFilter ? <Text inverse> </Text> : null}
				<Text color={theme.dim}>{`   ${shown.length} of ${state.agents.length} agents`}</Text>
				{checking > 0 ? (
					<Text color={theme.info}>
						{'   '}
						<Spinner/>
						{` checking ${checking}`}
					</Text>
				) : null}
			</Box>
			<Text bold>
				{pad('NAME', columns.name)} {pad('ADDRESS', columns.address)} {pad('STATUS', columns.status)} {cell('SCRIPTS', columns.scripts)}{cell('SEEN', columns.seen)}{cell('EXPIRES', columns.expires)}TAGS
			</Text>
			{!state.loaded ? <Text color={theme.dim}>Loading the registry...</Text> : null}
			{state.loaded && state.agents.length === 0 ? <Text color={theme.dim}>No agents are paired yet. Press p to pair one.</Text> : null}
			{selection.ok ? null : <Text color={state.editingFilter ? theme.dim : theme.bad} wrap="truncate-end">{visible(selection.reason)}</Text>}
			{state.loaded && state.agents.length > 0 && shown.length === 0 && selection.ok ? <Text color={theme.dim}>No agent matches this filter (web* for names starting web). Esc clears it.</Text> : null}
			{window.map((agent, index) => {
				const selected = start + index === state.cursor;
				return (
					<Text key={agent.name} inverse={selected} wrap="truncate">
						{pad(visible(agent.name), columns.name)} {pad(visible(agent.address), columns.address)}{' '}
						<Text color={selected ? undefined : phaseColor(agent.status)}>{pad(agent.status, columns.status)}</Text>{' '}
						{cell(agent.status === 'reachable' ? String(agent.scripts.length) : '-', columns.scripts)}{cell(ago(seenAt(agent), now), columns.seen)}
						{cell(columns.expires >= 10 ? agent.certificateExpires.slice(0, 10) : expiresIn(agent.certificateExpires, now), columns.expires)}
						{pad(tagsCell(agent, filterKeys).text, columns.tags)}
					</Text>
				);
			})}
			{shown.length > rows ? <Text color={theme.dim}>{`${start + 1}–${start + window.length} of ${shown.length}${start + window.length < shown.length ? ` · ${shown.length - start - window.length} more ↓` : ''}`}</Text> : null}
		</Box>
	);
}

/** How long ago an agent last answered, in four columns at most: `12s`, `5m`, `3h`, `9d`; `-` for never. */
export function ago(at: number | undefined, now: number): string {
	if (at === undefined || Number.isNaN(at)) {
		return '-';
	}

	const seconds = Math.max(0, Math.floor((now - at) / 1000));
	return seconds < 60 ? `${seconds}s` : seconds < 3600 ? `${Math.floor(seconds / 60)}m` : seconds < 172_800 ? `${Math.floor(seconds / 3600)}h` : `${Math.floor(seconds / 86_400)}d`;
}

/**
 * How long a certificate has left, in the width of `EXPIRES`: `20h`, `89d`, `3y`; `expired`;
 * `-` when the date cannot be read.
 */
export function expiresIn(at: string, now: number): string {
	const left = Date.parse(at) - now;
	if (Number.isNaN(left)) {
		return '-';
	}

	const hours = Math.floor(left / 3_600_000);
	return left <= 0 ? 'expired' : hours < 48 ? `${hours}h` : hours < 24 * 1000 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24 / 365)}y`;
}

/**
 * The registry's tags, marked first (long tags are cut at the end) when the agent's own differ; the
 * agent screen shows how. The tags being filtered on come first: a narrow terminal never cuts them.
 */
function tagsCell(agent: FleetAgent, first: readonly string[]): {text: string; filtered: number} {
	const keys = Object.keys(agent.tags).sort();
	const tag = (key: string) => visible(formatTags({[key]: agent.tags[key]!}));
	const marked = agent.drifted ? '(drifted) ' : '';
	const filtered = keys.filter(key => first.includes(key)).map(key => tag(key));
	const text = marked + [...filtered, ...keys.filter(key => !first.includes(key)).map(key => tag(key))].join(' ');
	// What must not be cut: the mark and the tags filtered on (and, when more follows, the `…` that says so).
	const kept = marked.length + filtered.join(' ').length;
	return {text, filtered: filtered.length === 0 ? 0 : kept + (text.length > kept ? 1 : 0)};
}

/** A column followed by its space; nothing for a column that gave way (width 0). */
function cell(text: string, width: number): string {
	return width > 0 ? pad(text, width) + ' ' : '';
}

function pad(text: string, width: number): string {
	return text.length > width ? text.slice(0, width - 1) + '…' : text.padEnd(width);
}
