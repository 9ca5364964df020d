/**
 * `npm run media`: pictures of the console for the README, taken from a real terminal. Runs
 * `xi-exec demo` (dist/, so build first) in a detached 80×24 tmux session of its own, drives it
 * with send-keys (each key once the screen shows the previous one was taken), captures each
 * screen with `tmux capture-pane -e -p` and turns the ANSI text into an SVG: monospace text,
 * each run of one style placed at its column, coloured with a 16-colour palette.
 *
 * Pictures: fleet, fleet-filtered, run-panes, run-list (failures first), output (a host's whole
 * output, stderr marked), audit, help, run-controls (batch, max failures, canary set on the
 * confirmation), dry-run (each host's answer, nothing run), runbook-plan, runbook-run and
 * runbook-runs (the demo's sample runbook: its dry run, its steps and a step's hosts, the runs), pairing
 * (a new agent's request, approved by typing the code it printed).
 */
import {execFile, spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import {promisify} from 'node:util';
import {publicKeySha256, x509} from '../source/pki/index.js';

const repoRoot = new URL('..', import.meta.url).pathname;
const mediaDirectory = join(repoRoot, 'media');
const size = {columns: 80, rows: 24};

// ANSI to SVG -------------------------------------------------------------------------------

type Style = {fg?: string; bg?: string; bold: boolean; dim: boolean; italic: boolean; underline: boolean; inverse: boolean};
type Run = {column: number; text: string; style: Style};

const palette = {
	background: '#1b1d23',
	foreground: '#d7dae0',
	colours: ['#3f4451', '#e05561', '#8cc265', '#d18f52', '#4aa5f0', '#c162de', '#42b3c2', '#d7dae0', '#6c7280', '#ff616e', '#a5e075', '#f0a45d', '#4dc4ff', '#de73ff', '#4cd1e0', '#ffffff'],
};

const plain = (): Style => ({bold: false, dim: false, italic: false, underline: false, inverse: false});

/** xterm's 256 colours: the 16 of the palette, a 6×6×6 cube, then 24 greys. */
function colour256(index: number): string {
	if (index < 16) {
		return palette.colours[index]!;
	}

	if (index >= 232) {
		const grey = (8 + ((index - 232) * 10)).toString(16).padStart(2, '0');
		return `#${grey}${grey}${grey}`;
	}

	const cube = index - 16;
	const level = (value: number) => (value === 0 ? 0 : 55 + (value * 40)).toString(16).padStart(2, '0');
	return `#${level(Math.floor(cube / 36))}${level(Math.floor(cube / 6) % 6)}${level(cube % 6)}`;
}

/** Applies one SGR sequence's parameters to a style. */
function applySgr(style: Style, parameters: number[]): Style {
	const next = {...style};
	for (let index = 0; index < parameters.length; index++) {
		const code = parameters[index]!;
		if (code === 0) {
			Object.assign(next, plain(), {fg: undefined, bg: undefined});
		} else if (code === 1) {
			next.bold = true;
		} else if (code === 2) {
			next.dim = true;
		} else if (code === 3) {
			next.italic = true;
		} else if (code === 4) {
			next.underline = true;
		} else if (code === 7) {
			next.inverse = true;
		} else if (code === 22) {
			next.bold = false;
			next.dim = false;
		} else if (code === 23) {
			next.italic = false;
		} else if (code === 24) {
			next.underline = false;
		} else if (code === 27) {
			next.inverse = false;
		} else if (code >= 30 && code <= 37) {
			next.fg = palette.colours[code - 30];
		} else if (code >= 90 && code <= 97) {
			next.fg = palette.colours[code - 90 + 8];
		} else if (code >= 40 && code <= 47) {
			next.bg = palette.colours[code - 40];
		} else if (code >= 100 && code <= 107) {
			next.bg = palette.colours[code - 100 + 8];
		} else if (code === 39) {
			next.fg = undefined;
		} else if (code === 49) {
			next.bg = undefined;
		} else if ((code === 38 || code === 48) && parameters[index + 1] === 5) {
			next[code === 38 ? 'fg' : 'bg'] = colour256(parameters[index + 2] ?? 0);
			index += 2;
		} else if ((code === 38 || code === 48) && parameters[index + 1] === 2) {
			const [red, green, blue] = parameters.slice(index + 2, index + 5).map(value => value.toString(16).padStart(2, '0'));
			next[code === 38 ? 'fg' : 'bg'] = `#${red}${green}${blue}`;
			index += 4;
		}
	}

	return next;
}

/** One captured line as runs of one style, each at its column. Escape sequences other than SGR are dropped. */
function parseLine(line: string, start: Style = plain()): {runs: Run[]; style: Style} {
	const runs: Run[] = [];
	let style = start;
	let column = 0;
	let text = '';
	const flush = () => {
		if (text !== '') {
			runs.push({column: column - [...text].length, text, style});
			text = '';
		}
	};

	for (const token of line.matchAll(/\u001B\[([\d;:]*)([A-Za-z])|\u001B[^[]|([^\u001B]+)/gu)) {
		if (token[3] !== undefined) {
			for (const character of token[3]) {
				text += character;
				column++;
			}
		} else if (token[2] === 'm') {
			flush();
			style = applySgr(style, (token[1] || '0').split(/[;:]/).map(Number));
		}
	}

	flush();
	return {runs, style};
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, character => `&#${character.codePointAt(0)};`);

function ansiToSvg(screen: string, title: string): string {
	const cell = {width: 8.4, height: 17};
	const padding = 14;
	const bar = 28;
	const width = (size.columns * cell.width) + (2 * padding);
	const height = (size.rows * cell.height) + (2 * padding) + bar;
	const lines = screen.replace(/\n$/, '').split('\n').slice(0, size.rows);
	const backgrounds: string[] = [];
	const texts: string[] = [];
	let style = plain();
	for (const [row, line] of lines.entries()) {
		const parsed = parseLine(line, style);
		style = parsed.style;
		const y = bar + padding + (row * cell.height);
		const spans: string[] = [];
		for (const run of parsed.runs) {
			const fg = run.style.inverse ? (run.style.bg ?? palette.background) : (run.style.fg ?? palette.foreground);
			const bg = run.style.inverse ? (run.style.fg ?? palette.foreground) : run.style.bg;
			const x = padding + (run.column * cell.width);
			if (bg) {
				backgrounds.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${([...run.text].length * cell.width).toFixed(1)}" height="${cell.height}" fill="${bg}"/>`);
			}

			if (run.text.trim() === '') {
				continue;
			}

			const attributes = [
				`x="${x.toFixed(1)}"`,
				fg === palette.foreground ? '' : `fill="${fg}"`,
				run.style.bold ? 'font-weight="bold"' : '',
				run.style.dim ? 'opacity="0.7"' : '',
				run.style.italic ? 'font-style="italic"' : '',
				run.style.underline ? 'text-decoration="underline"' : '',
			].filter(Boolean).join(' ');
			spans.push(`<tspan ${attributes}>${escapeXml(run.text)}</tspan>`);
		}

		if (spans.length > 0) {
			texts.push(`<text y="${y + 13}" xml:space="preserve">${spans.join('')}</text>`);
		}
	}

	return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">
<title>${escapeXml(title)}</title>
<rect width="${width}" height="${height}" rx="8" fill="${palette.background}"/>
<circle cx="20" cy="15" r="5.5" fill="#e05561"/><circle cx="38" cy="15" r="5.5" fill="#d18f52"/><circle cx="56" cy="15" r="5.5" fill="#8cc265"/>
<text x="${width / 2}" y="19" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#8a8f98">${escapeXml(title)}</text>
${backgrounds.join('\n')}
<g font-family="'DejaVu Sans Mono', 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace" font-size="14" fill="${palette.foreground}">
${texts.join('\n')}
</g>
</svg>
`;
}

// Driving the demo in tmux ---------------------------------------------------------------------

const run = promisify(execFile);
const socket = `xi-exec-media-${process.pid}`;
const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})).stdout;
const screen = async (colours = false) => tmux('capture-pane', '-p', ...(colours ? ['-e'] : []), '-t', 'demo');
const keys = async (...names: string[]) => tmux('send-keys', '-t', 'demo', ...names);
const type = async (text: string) => tmux('send-keys', '-t', 'demo', '-l', text);

async function waitFor(what: string, check: (screen: string) => boolean, limitMs = 180_000): Promise<string> {
	const deadline = Date.now() + limitMs;
	for (;;) {
		const shown = await screen();
		if (check(shown)) {
			return shown;
		}

		if (Date.now() > deadline) {
			throw new Error(`waited ${limitMs / 1000} s for ${what}; the screen shows:\n${shown}`);
		}

		await delay(100);
	}
}

const showing = async (text: string) => waitFor(JSON.stringify(text), shown => shown.includes(text));

async function picture(name: string, title: string): Promise<void> {
	const path = join(mediaDirectory, `${name}.svg`);
	writeFileSync(path, ansiToSvg(await screen(true), title));
	console.log(`  ${path}`);
}

/** A new agent asking to pair: prints its code (JSON lines) and waits for the operator. */
function requestPairing(base: string, controller: string, caSha256: string): {code: Promise<string>; signal: (signal: NodeJS.Signals) => void} {
	const home = join(base, 'new-agent');
	const agentCli = join(repoRoot, 'dist/agent/cli.js');
	const environment = {...process.env, XI_EXEC_AGENT_HOME: home};
	mkdirSync(home, {recursive: true, mode: 0o700});
	const init = spawn(process.execPath, [agentCli, 'init', '--name', 'web4', '--listen', '127.0.0.1:7494', '--tag', 'env=staging', '--tag', 'role=web', '--tag', 'site=paris'], {env: environment, stdio: 'ignore'});
	let pair: ReturnType<typeof spawn> | undefined;
	const code = new Promise<string>((resolve, reject) => {
		init.once('exit', status => {
			if (status !== 0) {
				reject(new Error(`xi-exec-agent init exited with ${status}`));
				return;
			}

			pair = spawn(process.execPath, [agentCli, 'pair', '--controller', controller, '--ca-sha256', caSha256, '--json'], {env: environment, stdio: ['ignore', 'pipe', 'inherit']});
			createInterface({input: pair.stdout!}).on('line', line => {
				const event = JSON.parse(line) as {event: string; code?: string};
				if (event.event === 'code') {
					resolve(event.code!);
				}
			});
			pair.once('exit', () => {
				reject(new Error('xi-exec-agent pair ended before printing its code'));
			});
		});
	});
	return {code, signal: signal => pair?.kill(signal)};
}

async function main(): Promise<void> {
	const base = mkdtempSync(join(tmpdir(), 'xi-exec-media-'));
	let pairing: {signal: (signal: NodeJS.Signals) => void} | undefined;
	let socketPath: string | undefined;
	try {
		mkdirSync(mediaDirectory, {recursive: true});
		// Ink writes only the final frame when CI is set; NO_COLOR would leave the pictures grey.
		const command = `cd ${JSON.stringify(repoRoot)} && env -u CI -u NO_COLOR TMPDIR=${JSON.stringify(base)} ${JSON.stringify(process.execPath)} dist/source/cli.js demo`;
		await tmux('new-session', '-d', '-s', 'demo', '-x', String(size.columns), '-y', String(size.rows), command);
		socketPath = (await tmux('display-message', '-p', '#{socket_path}')).trim();
		console.log('Starting the demo (six agents, paired for real)...');
		await waitFor('the fleet, every agent reachable', shown => shown.includes('6 of 6 agents') && shown.split('\n').filter(line => / reachable /.test(line)).length === 6);
		await picture('fleet', 'xi-exec demo: the fleet');

		await keys('/');
		await showing('Filter: ');
		await type('role=web');
		await showing('3 of 6 agents');
		await keys('Enter');
		await showing('Filter (/): role=web');
		await picture('fleet-filtered', 'xi-exec demo: the fleet filtered by role=web');

		await keys('r');
		await showing('pick one');
		await keys('Enter');
		await showing('check-service: arguments');
		await keys('Enter');
		await showing('Run check-service on 3 agents?');
		await keys('Enter');
		await showing('finished');
		await picture('run-panes', 'xi-exec demo: check-service on the three web agents');

		await keys('Escape');
		await showing('Filter (/): role=web');
		await keys('Escape');
		await showing('6 of 6 agents');
		await keys('r');
		await showing('Run a script on 6 agents: pick one');
		await keys('Enter');
		await showing('check-service: arguments');
		await keys('Enter');
		await showing('Run check-service on 6 agents?');
		await keys('Enter');
		await showing('finished');
		// Failures first: db2 heads the list, selected, its pane expanded below.
		await showing('│ db2  ✗ failed (exit 3)');
		await picture('run-list', 'xi-exec demo: check-service on six agents, the failing one first');

		await keys('Enter');
		await showing('stderr│ upstream: connection refused');
		await picture('output', 'xi-exec demo: a failed host\'s whole output, stderr marked');
		await keys('Escape');
		await showing('│ db2  ✗ failed (exit 3)');

		await keys('a');
		await showing('chain intact');
		await showing('OUTCOME');
		await picture('audit', 'xi-exec demo: the audit trail of that run, chain verified');
		await keys('Escape');
		await showing('│ db2  ✗ failed (exit 3)');

		await keys('Escape');
		await showing('Filter (/):');
		await keys('?');
		await showing('Press any key to go back.');
		await picture('help', 'xi-exec demo: the keys');
		await keys('Space');
		await showing('Filter (/):');

		await runControls();
		await runbook();

		await keys('p');
		const listening = await waitFor('the pairing listener', shown => /Listening on 127\.0\.0\.1:\d+/.test(shown));
		const controller = /Listening on (127\.0\.0\.1:\d+)/.exec(listening)![1]!;
		const [demoDirectory] = readdirSync(base).filter(name => name.startsWith('xi-exec-demo-'));
		const caSha256 = publicKeySha256(new x509.X509Certificate(readFileSync(join(base, demoDirectory!, 'controller', 'ca.pem'), 'utf8')));
		const request = requestPairing(base, controller, caSha256);
		pairing = request;
		const code = await request.code;
		// Held still after printing its code, the agent cannot confirm yet: the screen keeps the
		// two codes side by side long enough to be pictured. It goes on afterwards.
		request.signal('SIGSTOP');
		await showing('1 pending request:');
		await type(code);
		await showing(`Code shown on web4: ${code.slice(0, 3)} ${code.slice(3)}`);
		await keys('Enter');
		await showing('approved; waiting for the agent to');
		await picture('pairing', 'xi-exec demo: pairing a new agent by the code it shows');
		request.signal('SIGCONT');
		await showing('web4 is paired and in the registry.');

		await keys('Escape');
		await showing('Filter (/):');
		await keys('q');
		await waitForExit();
	} finally {
		pairing?.signal('SIGCONT');
		pairing?.signal('SIGTERM');
		await tmux('kill-server').catch(() => undefined);
		// tmux leaves its socket behind.
		if (socketPath) {
			rmSync(socketPath, {force: true});
		}

		rmSync(base, {recursive: true, force: true});
	}
}

/** The run controls set on a confirmation (b, m, c), then its dry run (d); back to the fleet. */
async function runControls(): Promise<void> {
	await keys('r');
	await showing('Run a script on 6 agents: pick one');
	await keys('Enter');
	await showing('check-service: arguments');
	await keys('Enter');
	await showing('Run check-service on 6 agents?');
	for (const [key, value, shown] of [['b', '2', '2 at a time'], ['m', '1', 'more than 1 failure'], ['c', '1', '1 first (canary)']] as const) {
		await keys(key);
		await showing('empty: none):');
		await type(value);
		await keys('Enter');
		await showing(shown);
	}

	await picture('run-controls', 'xi-exec demo: batch, max failures and a canary set before a run');
	await keys('d');
	await showing('(nothing ran)');
	await picture('dry-run', 'xi-exec demo: the dry run of that request: order, start and each host\'s answer');
	await keys('Escape');
	await showing('Filter (/):');
}

/** The demo's own sample runbook (site-check): its dry run, its run (the restart's count typed), then the runbook runs; back to the fleet. */
async function runbook(): Promise<void> {
	await keys('b');
	await showing('site-check');
	await keys('Enter');
	await showing('> site   paris');
	await keys('Enter');
	await showing('Dry run, nothing ran');
	await picture('runbook-plan', 'xi-exec demo: a runbook\'s dry run: each step\'s hosts and their policy answer');
	await keys('Enter');
	await showing('Type 1');
	await type('1');
	await keys('Enter');
	await showing('failed (step recheck');
	await keys('Home');
	await showing('stderr│ upstream: connection refused');
	await picture('runbook-run', 'xi-exec demo: the runbook\'s steps, the check\'s hosts failures first');
	await keys('Escape');
	await showing('Tab: their runs');
	await keys('Tab');
	await showing('1 runbook run, newest first');
	await picture('runbook-runs', 'xi-exec demo: the runbook runs; Enter resumes one that did not end ok');
	await keys('Escape');
	await showing('Filter (/):');
}

/** The session ends with the demo (which stops its agents and removes its directory first). */
async function waitForExit(limitMs = 60_000): Promise<void> {
	const deadline = Date.now() + limitMs;
	while (await tmux('has-session', '-t', 'demo').then(() => true, () => false)) {
		if (Date.now() > deadline) {
			throw new Error('the demo did not stop after q');
		}

		await delay(100);
	}
}

await main();
