/**
 * Screens other parts of the product add to the console (approvals, runbooks): the key on
 * the fleet that opens each, its keys for the footer and `?`, a badge for the header of every
 * screen, and the screen itself. The shell (app.tsx) draws whatever is listed here: a new screen
 * is an entry in `consoleExtensions`, with no change to the shell.
 */
import type {ReactElement} from 'react';
import type {ConsoleCore} from './core.js';
import type {KeyRow} from './key-help.js';
import {ApprovalsBadge} from './screens/approvals/approvals-badge.js';
import {approvalsKeys} from './screens/approvals/approvals-keys.js';
import {ApprovalsScreen} from './screens/approvals/approvals-screen.js';
import {runbooksKeys} from './screens/runbooks/runbooks-keys.js';
import {RunbooksScreen} from './screens/runbooks/runbooks-screen.js';

export type ExtensionScreenProps = {
	core: ConsoleCore;
	height: number;
	width: number;
	now: number;
	isActive: boolean;
	/** Back to the fleet. */
	onBack: () => void;
	/** Every key of the screen (`?`). */
	onHelp: () => void;
	/**
	 * A screen with steps tells the keys of the step shown (the footer and `?` show them instead of
	 * `keys`) and whether something it started is going (Ctrl-C then asks before quitting).
	 */
	onStatus: (status: {keys: readonly KeyRow[]; going: boolean}) => void;
};

export type ConsoleExtension = {
	/** Its name in the header. */
	name: string;
	/** How `?` names it: "Keys on …". */
	title: string;
	/** The key on the fleet that opens it (not one of the fleet's own), and how help says it. */
	key: string;
	fleetRow: KeyRow;
	keys: KeyRow[];
	/** Whether this console can show it (a core without its port cannot). */
	available: (core: ConsoleCore) => boolean;
	/** Shown in the header on every screen; null when there is nothing to say. */
	Badge?: (props: {core: ConsoleCore}) => ReactElement | null;
	Screen: (props: ExtensionScreenProps) => ReactElement;
};

export const consoleExtensions: readonly ConsoleExtension[] = [
	{
		name: 'approvals',
		title: 'runs awaiting approval',
		key: 'A',
		fleetRow: ['A', 'runs awaiting approval'],
		keys: approvalsKeys,
		available: core => core.approvals !== undefined,
		Badge: ({core}) => <ApprovalsBadge approvals={core.approvals}/>,
		Screen: ({core, onStatus: _steps, ...props}) => <ApprovalsScreen approvals={core.approvals!} {...props}/>,
	},
	{
		name: 'runbooks',
		title: 'runbooks',
		// Not one of the fleet's keys (r p g a h / ? q Enter Esc, A); b, m, c, t are the run controls' on the confirmation only.
		key: 'b',
		fleetRow: ['b', 'runbooks: pick one, fill its parameters, dry run, run'],
		keys: [...new Map(Object.values(runbooksKeys).flat().map(row => [row[0], row])).values()],
		available: core => core.runbooks !== undefined,
		Screen: ({core, ...props}) => <RunbooksScreen runbooks={core.runbooks!} {...props}/>,
	},
];
