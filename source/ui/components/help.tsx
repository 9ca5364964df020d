/** The keys of the screen `?` was pressed on: every one of them (key-help.ts). */
import {Box, Text} from 'ink';
import {keyTable, type KeyPlace, type KeyRow} from '../key-help.js';
import {theme} from '../theme.js';

const titles: Record<KeyPlace, string> = {
	fleet: 'the fleet', filter: 'the filter', agent: 'an agent', pick: 'picking a script', args: 'arguments', confirm: 'the confirmation', control: 'a run control',
	running: 'a run in progress', canary: 'the canary question', finished: 'a finished run', output: 'a host\'s output', 'output-search': 'searching an output',
	pairing: 'pairing', audit: 'the audit trail', 'audit-run': 'a run\'s audit records', history: 'the run history', 'history-search': 'searching the run history', help: 'help',
};

/** `rows`, `title`: a screen added to the console (extensions.tsx) says its own; `more`: rows added to the place's. */
export function Help({place, rows, title, more = []}: {place: KeyPlace; rows?: readonly KeyRow[]; title?: string; more?: readonly KeyRow[]}) {
	return (
		<Box flexDirection="column">
			<Text bold>{`Keys on ${title ?? titles[place]}`}</Text>
			{[...(rows ?? keyTable[place]), ...more].map(([keys, meaning]) => (
				<Text key={keys}>{keys.padEnd(20)} {meaning}</Text>
			))}
			<Text color={theme.dim}>Press any key to go back.</Text>
		</Box>
	);
}
