/** The keys, on `?`. */
import {Box, Text} from 'ink';
import {theme} from '../theme.js';

const keys: Array<[string, string]> = [
	['↑ ↓  j k', 'move'],
	['/', 'filter: env=production role=db, a bare word matches names'],
	['Esc', 'clear the filter / go back'],
	['Enter', 'an agent\'s details and scripts'],
	['r', 'run a script on the agents shown'],
	['p', 'pairing: approve new agents by their code'],
	['g', 'ask every agent again (discovery) / read the audit log again'],
	['a', 'the audit trail and its chain status; after a run: that run\'s'],
	['c', 'while running: cancel the run'],
	['f', 'after a run: run again on the hosts that were not ok'],
	['?', 'this help'],
	['q  Ctrl-C', 'quit'],
];

export function Help() {
	return (
		<Box flexDirection="column">
			<Text bold>Keys</Text>
			{keys.map(([key, meaning]) => (
				<Text key={key}>{key.padEnd(12)} {meaning}</Text>
			))}
			<Text color={theme.dim}>Press any key to go back.</Text>
		</Box>
	);
}
