import {XiError} from '../../errors.js';
import {positiveInteger} from '../flags.js';
import {readCallerToken} from '../read-token.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';
import {excludeFlag, onFlag, selectorValues} from './selector-flags.js';

export const run = defineCommand({
	name: 'run',
	summary: 'run an allowlisted script on agents',
	usage: [
		'run SCRIPT --on SELECTOR... [--exclude SELECTOR]... [OPTIONS] [-- ARGS...]',
		'run --rerun ID --only failed,timeout,unreachable,cancelled',
		'run --approved ID',
	],
	description: 'Sends the script\'s name and arguments to every agent the selectors match; each agent runs it only\nif it is on its allowlist. Output is streamed, prefixed with the agent\'s name, then summarised.',
	flags: {
		on: onFlag,
		exclude: excludeFlag,
		parallel: {type: 'number', value: 'N', description: 'agents at once (default 64, at most 4096)'},
		timeout: {type: 'number', value: 'SECONDS', description: 'to connect and hear back from each agent (default 30)'},
		dryRun: {type: 'boolean', description: 'say which agents would run what, run nothing'},
		token: {type: 'string', value: 'TOKEN', description: 'a scoped token (visible in ps: prefer XI_EXEC_TOKEN or --token-file)'},
		tokenFile: {type: 'string', value: 'FILE', description: 'read the scoped token from FILE (mode 0600)'},
		batch: {type: 'string', value: 'N|N%', description: 'run in batches of this many agents'},
		maxFailures: {type: 'string', value: 'N|N%', description: 'stop starting batches after this many failures'},
		ignoreUnreachable: {type: 'boolean', description: 'an unreachable agent does not count as a failure'},
		canary: {type: 'number', value: 'N', description: 'run on N agents first, then ask (or --yes) before the rest'},
		yes: {type: 'boolean', description: 'go on after a good canary, and confirm a confirm script, without asking'},
		shuffle: {type: 'boolean', description: 'pick the batches in random order'},
		runTimeout: {type: 'number', value: 'SECONDS', description: 'the whole script\'s time limit on each agent'},
		idleTimeout: {type: 'number', value: 'SECONDS', description: 'the longest silence allowed from a script'},
		group: {type: 'boolean', description: 'print agents with identical output once, names folded'},
		rerun: {type: 'string', value: 'ID', description: 'the same script and arguments as run ID, on its hosts chosen by --only'},
		only: {type: 'string', value: 'STATUSES', description: 'with --rerun: which hosts, by status (failed,timeout,unreachable,cancelled)'},
		outdir: {type: 'string', value: 'DIR', description: 'each host\'s output and result in DIR/HOST.{out,err,json}, as they arrive'},
		noProgress: {type: 'boolean', description: 'no live progress line on a terminal\'s stderr'},
		noWait: {type: 'boolean', description: 'a run that needs approval: print the request and exit 3 instead of waiting'},
		approved: {type: 'string', value: 'ID', description: 'run the plan of approval request ID (as its requester, with the same token)'},
	},
	takesArgs: true,
	examples: [
		'run uptime --on all',
		'run restart-web --on env=production,role=web --batch 25% --max-failures 1 --canary 1',
		'run backup --on db1 --json -- --full',
		'run --rerun 0b7c… --only failed,unreachable',
	],
	exitCodes: [[0, 'every target ok'], [1, 'any target not ok (failed, timeout, unreachable, denied, cancelled)'], [3, 'waiting for approval (--no-wait, or --approved before it is approved)']],
	async run({flags, args, rest}, io, ports: ControllerPorts) {
		const {runCommand} = await import('../../commands/run.js');
		const {parseRunControl, rerunScript} = await import('../../commands/run-flags.js');
		const control = parseRunControl(flags);
		// Questions (a canary, a confirm script) when stdin and stderr, where they are written, are terminals: loaded only then.
		const questions = ports.questions ? await import('../terminal-questions.js') : undefined;
		let [script, ...scriptArgs] = [...args, ...rest];
		if (flags.approved !== undefined && (script !== undefined || flags.on.length > 0 || flags.exclude.length > 0 || control.rerun)) {
			throw new XiError('USAGE', '--approved ID runs exactly the plan that was approved: give no script, arguments, --on or --rerun.');
		}

		if (control.rerun) {
			if (script !== undefined || flags.on.length > 0 || flags.exclude.length > 0) {
				throw new XiError('USAGE', '--rerun ID runs the same script and arguments on hosts of that run: give no script, arguments or --on.');
			}

			const {historyDirectory} = await import('../../history/run-store.js');
			({script, args: scriptArgs} = rerunScript(historyDirectory(ports.paths), control.rerun));
		}

		return runCommand(ports.paths, {
			...control.input,
			...(questions ? {ask: questions.askYesNo(ports.stdin), prompt: questions.askLine(ports.stdin)} : {}),
			script,
			args: scriptArgs,
			on: control.rerun ? [] : await selectorValues(flags),
			parallel: positiveInteger('parallel', flags.parallel, {max: 4096}) ?? 64,
			timeoutSeconds: positiveInteger('timeout', flags.timeout, {max: 86_400}) ?? 30,
			json: flags.json,
			dryRun: flags.dryRun,
			...(flags.outdir === undefined ? {} : {outdir: flags.outdir}),
			...(!flags.noProgress && ports.stderrColumns ? {progress: {columns: ports.stderrColumns}} : {}),
			...(flags.noWait ? {noWait: true} : {}),
			...(flags.approved === undefined ? {} : {approved: flags.approved}),
			token: readCallerToken({tokenFile: flags.tokenFile, token: flags.token, env: ports.env, warn: io.stderr}),
		}, io, ports.early);
	},
});
