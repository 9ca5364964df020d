/** The keys of the screen `?` was pressed on: every one of them (key-help.ts). */
import {Box, Text} from 'ink';
import {keyTable, type KeyPlace} from '../key-help.js';
import {theme} from '../theme.js';

const titles: Record<KeyPlace, string> = {
	fleet: 'the fleet', filter: 'the filter', agent: 'an agent', pick: 'picking a script', args: 'arguments', confirm: 'the confirmation',
	running: 'a run in progress', finished: 'a finished run', output: 'a host\'s output', 'output-search': 'searching an output',
	pairing: 'pairing', audit: 'the audit trail', 'audit-run': 'a run\'s audit records', history: 'the run history', help: 'help',
};

export function Help({place}: {place: KeyPlace}) {
	return (
		<Box flexDirection="column">
			<Text bold>{`Keys on ${titles[place]}`}</Text>
			{keyTable[place].map(([keys, meaning]) => (
				<Text key={keys}>{keys.padEnd(20)} {meaning}</Text>
			))}
			<Text color={theme.dim}>Press any key to go back.</Text>
		</Box>
	);
}
