/**
 * Run in a child process by no-color.test.ts (theme.ts reads NO_COLOR once, at import): prints
 * the theme, each phase's colour, and the console's fleet and a run pane as Ink draws them.
 */
import {setTimeout as delay} from 'node:timers/promises';
import {render} from 'ink-testing-library';
import type {RunEvent} from '../../../source/run/events.js';
import {initialRunState, reduceRun, type RunState} from '../../../source/run/run-state.js';
import {Run} from '../../../source/ui/screens/run/run.js';
import {scriptChoices} from '../../../source/ui/screens/run/script-choices.js';
import {phaseColor, theme} from '../../../source/ui/theme.js';
import {App} from '../../../source/ui/app.js';
import {Help} from '../../../source/ui/components/help.js';
import {agentRun, demoFleet, FakeCore, reachable, scriptViews, unreachable} from './fake-core.js';

const phases = ['ok', 'failed', 'denied', 'unreachable', 'timeout', 'cancelled', 'skipped', 'error', 'queued', 'connecting', 'running', 'reachable', 'checking'] as const;

const fleet = render(<App core={new FakeCore({discovery: demoFleet.map(record => (record.name === 'db2' ? unreachable(record, 'down') : reachable(record)))})}/>);
while (!fleet.lastFrame()?.includes('unreachable')) {
	await delay(5);
}

const events: RunEvent[] = [{type: 'run-started', requestId: 'r', script: 'check-service', args: [], targets: ['web1', 'web2']}, ...agentRun('web1', 'fine\n', {status: 'ok', exitCode: 0}), ...agentRun('web2', '', {status: 'failed', exitCode: 3})];
const run: RunState = events.reduce(reduceRun, initialRunState);
const [choice] = scriptChoices([{name: 'web1', status: 'reachable', scripts: scriptViews(reachable(demoFleet[3]!).scripts)}]);
const help = render(<Help place="fleet"/>);
const pane = render(<Run state={{step: 'running', choice: choice!, args: [], requestId: 'r', run, startedAt: 0, finishedAt: 1000}} targets={[]} height={20} width={80} now={1000}/>);

process.stdout.write(JSON.stringify({
	theme: Object.fromEntries(Object.entries(theme).map(([name, value]) => [name, value ?? null])),
	phases: Object.fromEntries(phases.map(phase => [phase, phaseColor(phase) ?? null])),
	frames: [fleet.lastFrame(), pane.lastFrame(), help.lastFrame()],
}));
fleet.unmount();
pane.unmount();
help.unmount();
process.exit(0);
