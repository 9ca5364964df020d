/** Opens the console on a terminal and resolves when the operator leaves it. Loaded lazily: `run` never imports Ink. */
import {render} from 'ink';
import {App} from './app.js';
import type {ConsoleCore} from './core.js';

export async function startConsole(core: ConsoleCore, title?: string): Promise<void> {
	const instance = render(<App core={core} title={title}/>, {exitOnCtrlC: false});
	await instance.waitUntilExit();
}
