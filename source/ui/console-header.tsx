/** The console's first line: its title, and on the right the pairing notice, the added screens' badges and the screen's name. */
import {Box, Text} from 'ink';
import type {ConsoleCore} from './core.js';
import type {ConsoleExtension} from './extensions.js';
import {screenTitle} from './console-place.js';
import {theme} from './theme.js';
import {pairingNotice, type PairingStatus, type Screen} from './use-console-state.js';

export type ConsoleHeaderProps = {
	title: string;
	core: ConsoleCore;
	screen: Screen;
	pairing: PairingStatus;
	extensions: readonly ConsoleExtension[];
};

export function ConsoleHeader({title, core, screen, pairing, extensions}: ConsoleHeaderProps) {
	const notice = pairingNotice(pairing, screen);
	return (
		<Box justifyContent="space-between">
			<Text bold color={theme.accent}>{title}</Text>
			<Box>
				{notice === '' ? null : <Text color={pairing.pending > 0 ? theme.warn : theme.info} bold={pairing.pending > 0}>{`${notice}  `}</Text>}
				{extensions.map(extension => (extension.Badge ? <extension.Badge key={extension.name} core={core}/> : null))}
				<Text color={theme.dim}>{screen.name === 'extension' ? screen.extension.name : screenTitle(screen)}</Text>
			</Box>
		</Box>
	);
}
