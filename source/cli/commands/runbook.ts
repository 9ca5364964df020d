import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import {readCallerToken} from '../read-token.js';
import type {ControllerPorts} from './ports.js';

export const runbook = defineCommand({
	name: 'runbook',
	summary: 'list, show and run runbooks: named steps, in order or in parallel',
	usage: [
		'runbook list [--json]',
		'runbook show NAME [--param NAME=VALUE]... [--json]',
		'runbook run NAME [--param NAME=VALUE]... [--yes] [--no-wait] [--json]',
		'runbook run --resume ID [--from STEP] [--changed-file] [--param SECRET=VALUE]... [--no-wait]',
		'runbook cancel ID [--json]',
	],
	description: 'A runbook is runbooks/NAME.yaml (or .json) under the controller\'s home: typed parameters, then steps,\neach a run of an allowlisted script. It is checked whole against the fleet before its first step\n(every problem listed, nothing dialled); each step is then a normal run with its own request id.\n`show` is a dry run of every step: each host\'s policy answer, nothing runs. `cancel` stops a run from\nanother terminal: the step in flight is cancelled on every host and nothing runs after it.',
	flags: {
		param: {type: 'string', multiple: true, value: 'NAME=VALUE', description: 'a parameter\'s value (JSON when its schema is not a string)'},
		yes: {type: 'boolean', description: 'confirm confirm-scripts and go on after good canaries without asking'},
		resume: {type: 'string', value: 'ID', description: 'continue runbook run ID from its first step not finished ok'},
		from: {type: 'string', value: 'STEP', description: 'with --resume: from this step instead'},
		changedFile: {type: 'boolean', description: 'with --resume: run the runbook file as it is now, though it changed'},
		noWait: {type: 'boolean', description: 'a step that needs approval: print its request and exit 3 instead of waiting (--resume ID continues once approved)'},
		token: {type: 'string', value: 'TOKEN', description: 'a scoped token (visible in ps: prefer XI_EXEC_TOKEN or --token-file)'},
		tokenFile: {type: 'string', value: 'FILE', description: 'read the scoped token from FILE (mode 0600)'},
	},
	takesArgs: true,
	examples: ['runbook list', 'runbook show restart-web --param site=london', 'runbook run restart-web --param site=london --yes', 'runbook run --resume 3f2a… --from restart', 'runbook cancel 3f2a…'],
	exitCodes: [[0, 'every step ran and none stopped the runbook (cancel: the cancel was delivered)'], [1, 'a step stopped the runbook (cancel: a host could not be told)'], [3, 'a step waits for approval (--no-wait)'], [130, 'cancelled']],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/runbook.js');
		const [action, name, ...extra] = args;
		if (extra.length > 0 || (action === 'list' && name !== undefined)) {
			throw new XiError('USAGE', `unexpected ${JSON.stringify(extra[0] ?? name)}; see xi-exec runbook --help.`);
		}

		const token = () => readCallerToken({tokenFile: flags.tokenFile, token: flags.token, env: ports.env, warn: io.stderr});
		switch (action) {
			case 'list': {
				return commands.runbookListCommand(ports.paths, {json: flags.json}, io);
			}

			case 'show': {
				const presented = token();
				return commands.runbookShowCommand(ports.paths, {...(name === undefined ? {} : {name}), params: flags.param, json: flags.json, ...(presented === undefined ? {} : {token: presented})}, io);
			}

			case 'run': {
				const presented = token();
				// As `run`: questions when stdin and stderr, where they are written, are terminals (stdout may be a file).
				const questions = ports.questions ? await import('../terminal-questions.js') : undefined;
				return commands.runbookRunCommand(ports.paths, {
					...(name === undefined ? {} : {name}),
					params: flags.param,
					json: flags.json,
					yes: flags.yes,
					...(presented === undefined ? {} : {token: presented}),
					...(flags.resume === undefined ? {} : {resume: flags.resume}),
					...(flags.from === undefined ? {} : {from: flags.from}),
					changedFile: flags.changedFile,
					noWait: flags.noWait,
					...(questions ? {ask: questions.askYesNo(ports.stdin), prompt: questions.askLine(ports.stdin)} : {}),
				}, io);
			}

			case 'cancel': {
				return commands.runbookCancelCommand(ports.paths, {...(name === undefined ? {} : {id: name}), json: flags.json}, io);
			}

			default: {
				throw new XiError('USAGE', `${action === undefined ? 'a runbook command is missing' : `unknown runbook command ${JSON.stringify(action)}`}; use runbook list, runbook show NAME, runbook run NAME or runbook cancel ID.`);
			}
		}
	},
});

export const runbooks = defineCommand({
	name: 'runbooks',
	summary: 'the runbook runs this controller made, and one run\'s record',
	usage: ['runbooks [--json]', 'runbooks show ID [--json]'],
	description: 'Each runbook run with its steps\' outcomes and their request ids (`runs show ID` shows a step\'s hosts).\nA run whose controller was killed reads "interrupted"; `runbook run --resume ID` continues it.',
	flags: {},
	takesArgs: true,
	examples: ['runbooks', 'runbooks show 3f2a… --json'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/runbook.js');
		if (args[0] === 'show') {
			return commands.runbooksShowCommand(ports.paths, {...(args[1] === undefined ? {} : {id: args[1]}), json: flags.json}, io);
		}

		if (args.length > 0) {
			throw new XiError('USAGE', `unknown runbooks command ${JSON.stringify(args[0])}; use \`xi-exec runbooks\` or \`xi-exec runbooks show ID\`.`);
		}

		return commands.runbooksListCommand(ports.paths, {json: flags.json}, io);
	},
});
