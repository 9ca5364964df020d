/**
 * `xi-exec completion bash` in a real interactive bash under tmux (its own socket, CI unset): the
 * script is sourced, Tab completes an agent name after --on and a whole tag after `env=`, from
 * the registry of the home in use. The same for zsh (`zsh -f`, compinit), which also completes a
 * command, a flag and a script name the last `xi-exec agents` found (its cache, not the history,
 * which is empty here). And the generated scripts parse (`bash -n`, `zsh -n`).
 */
import {execFileSync} from 'node:child_process';
import {chmodSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {addAgent} from '../../source/registry/model.js';
import {controllerCli, createController, runCli, temporaryDirectory, waitFor} from '../helpers/fleet.js';

let home: string;

test.before(async () => {
	home = await createController();
	await openControllerRegistry(controllerPaths(home)).update(registry => ['zebra01', 'yak1', 'yak2'].reduce((current, name, index) => addAgent(current, {
		name,
		address: '127.0.0.1:1',
		tags: {env: 'production', role: name.replace(/\d+$/, '')},
		serial: (index + 1).toString(16).padStart(2, '0'),
		fingerprint: 'f'.repeat(64),
		certificateExpires: new Date(Date.now() + 86_400_000).toISOString(),
		pairedAt: new Date().toISOString(),
	}), registry));
});

function available(tool: string): boolean {
	try {
		execFileSync(tool, ['-c', 'true'], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
}

for (const shell of ['bash', 'zsh']) {
	test(`xi-exec completion ${shell} prints a script ${shell} -n parses`, async t => {
		if (!available(shell)) {
			t.log(`${shell} is not installed: skipped`);
			t.pass();
			return;
		}

		const result = await runCli(controllerCli, ['completion', shell], {XI_EXEC_HOME: home});
		t.is(result.code, 0, result.stderr);
		const file = join(temporaryDirectory('xi-exec-completion-'), `xi-exec.${shell}`);
		writeFileSync(file, result.stdout);
		t.notThrows(() => execFileSync(shell, ['-n', file], {stdio: 'pipe'}));
	});
}

test('completion --list reads the registry; a home that is not initialised lists nothing', async t => {
	t.is((await runCli(controllerCli, ['completion', '--list', 'agents'], {XI_EXEC_HOME: home})).stdout, 'yak1\nyak2\nzebra01\n');
	t.is((await runCli(controllerCli, ['completion', '--list', 'selectors'], {XI_EXEC_HOME: home})).stdout, 'all\nyak1\nyak2\nzebra01\nenv=production\nrole=yak\nrole=zebra\n');
	const empty = await runCli(controllerCli, ['completion', '--list', 'agents', '--home', join(home, 'nowhere')]);
	t.deepEqual(empty, {code: 0, stdout: '', stderr: ''});
	const bad = await runCli(controllerCli, ['completion', '--list', 'hosts'], {XI_EXEC_HOME: home});
	t.is(bad.code, 2);
	t.is(bad.stderr, 'xi-exec: --list takes agents, selectors, scripts, runs; got "hosts". (USAGE)\n');
});

test('in an interactive bash under tmux, Tab completes an agent name and a tag', async t => {
	if (!available('tmux')) {
		t.log('tmux is not installed: skipped');
		t.pass();
		return;
	}

	const bin = temporaryDirectory('xi-exec-bin-');
	writeFileSync(join(bin, 'xi-exec'), `#!/bin/sh\nexec '${process.execPath}' '${controllerCli}' "$@"\n`);
	chmodSync(join(bin, 'xi-exec'), 0o755);
	const socket = `xi-exec-completion-${process.pid}-${Date.now()}`;
	const env = {...Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'CI' && key !== 'TMUX')), PATH: `${bin}:${process.env['PATH'] ?? ''}`, XI_EXEC_HOME: home, PS1: '$ '};
	const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], {env, encoding: 'utf8'});
	tmux('new-session', '-d', '-x', '120', '-y', '20', 'bash --norc --noprofile');
	try {
		tmux('send-keys', 'source <(xi-exec completion bash) && echo sourced-ok', 'Enter');
		await waitFor(() => (tmux('capture-pane', '-p').includes('\nsourced-ok') ? true : undefined), 'the script sourced', {giveUpMs: 30_000});
		tmux('send-keys', 'xi-exec run hello --on zeb', 'Tab');
		const agent = await waitFor(() => {
			const screen = tmux('capture-pane', '-p');
			return /xi-exec run hello --on zebra01\s*$/m.test(screen) ? screen : undefined;
		}, 'the agent name completed', {giveUpMs: 30_000});
		t.truthy(agent);
		tmux('send-keys', '-l', '--', '--on env=prod');
		tmux('send-keys', 'Tab');
		const tag = await waitFor(() => {
			const screen = tmux('capture-pane', '-p');
			return /xi-exec run hello --on zebra01 --on env=production\s*$/m.test(screen) ? screen : undefined;
		}, 'the tag completed', {giveUpMs: 30_000});
		t.truthy(tag);
		tmux('send-keys', 'C-u');
	} finally {
		try {
			tmux('kill-server');
		} catch {
			// Gone already.
		}
	}
});

test('in an interactive zsh under tmux, Tab completes a command, a flag, a script, an agent and a tag', async t => {
	for (const tool of ['tmux', 'zsh']) {
		if (!available(tool)) {
			t.log(`${tool} is not installed: skipped`);
			t.pass();
			return;
		}
	}

	// What `xi-exec agents` leaves for completion: the scripts the agents offered.
	writeFileSync(join(home, 'completion.json'), `${JSON.stringify({scripts: ['disk-usage', 'restart-app']})}\n`);
	const bin = temporaryDirectory('xi-exec-bin-');
	writeFileSync(join(bin, 'xi-exec'), `#!/bin/sh\nexec '${process.execPath}' '${controllerCli}' "$@"\n`);
	chmodSync(join(bin, 'xi-exec'), 0o755);
	const socket = `xi-exec-zsh-completion-${process.pid}-${Date.now()}`;
	const env = {...Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'CI' && key !== 'TMUX')), PATH: `${bin}:${process.env['PATH'] ?? ''}`, XI_EXEC_HOME: home, PROMPT: '%% ', ZDOTDIR: bin};
	const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], {env, encoding: 'utf8'});
	const screen = () => tmux('capture-pane', '-p');
	/** Types `line`, presses Tab, and waits for the line to read `expected` (then clears it). */
	const complete = async (line: string, expected: RegExp, what: string) => {
		tmux('send-keys', '-l', '--', line);
		tmux('send-keys', 'Tab');
		const shown = await waitFor(() => (expected.test(screen()) ? screen() : undefined), what, {giveUpMs: 30_000});
		// Clear the line and the screen (a listing may be below the line), back to the bare prompt.
		tmux('send-keys', 'C-u', 'C-l');
		await waitFor(() => (screen().trim() === '%' ? true : undefined), 'the line cleared', {giveUpMs: 30_000});
		return shown;
	};

	tmux('new-session', '-d', '-x', '120', '-y', '20', 'zsh -f');
	try {
		tmux('send-keys', 'autoload -Uz compinit && compinit -u && source <(xi-exec completion zsh) && clear && echo sourced-ok', 'Enter');
		await waitFor(() => (screen().includes('\nsourced-ok') || screen().startsWith('sourced-ok') ? true : undefined), 'the script sourced', {giveUpMs: 30_000});
		t.truthy(await complete('xi-exec toke', /^% xi-exec token\s*$/m, 'the command completed'));
		t.truthy(await complete('xi-exec run disk-usage --dry', /^% xi-exec run disk-usage --dry-run\s*$/m, 'the flag completed'));
		t.truthy(await complete('xi-exec run res', /^% xi-exec run restart-app\s*$/m, 'the script name completed'));
		t.truthy(await complete('xi-exec run disk-usage --on zeb', /^% xi-exec run disk-usage --on zebra01\s*$/m, 'the agent name completed'));
		t.truthy(await complete('xi-exec run disk-usage --on env=prod', /^% xi-exec run disk-usage --on env=production\s*$/m, 'the tag completed'));
		// Global flags before the command: the command is found after them (and after --home's value).
		t.truthy(await complete(`xi-exec --no-color --home ${home} run res`, /^% xi-exec --no-color --home \S+ run restart-app\s*$/m, 'the script name completed after global flags'));
		t.truthy(await complete(`xi-exec --home ${home} toke`, /^% xi-exec --home \S+ token\s*$/m, 'the command completed after --home'));
	} finally {
		try {
			tmux('kill-server');
		} catch {
			// Gone already.
		}
	}
});
