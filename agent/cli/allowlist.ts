import {XiError} from '../../source/errors.js';
import {defineCommand} from '../../source/cli/command.js';
import type {AgentPorts} from './ports.js';

export const allow = defineCommand({
	name: 'allow',
	summary: 'put a script on the allowlist (a running agent takes it at once)',
	usage: ['allow NAME /absolute/path [--description TEXT] [--timeout SECONDS] [--schema FILE|JSON] [--run-as USER] [--interpreter /usr/bin/NAME] [--max-targets N] [--confirm] [--read-only]'],
	flags: {
		description: {type: 'string', value: 'TEXT', description: 'what it does, shown to callers'},
		timeout: {type: 'number', value: 'SECONDS', description: 'its time limit (default 30)'},
		schema: {type: 'string', value: 'FILE|JSON', description: 'a JSON Schema its arguments must match'},
		runAs: {type: 'string', value: 'USER', description: 'run it as this user (the agent must be root)'},
		interpreter: {type: 'string', value: '/usr/bin/NAME', description: 'for a #!/usr/bin/env NAME script: the interpreter to run (an absolute path named NAME)'},
		maxTargets: {type: 'number', value: 'N', description: 'refuse a run on more agents than this'},
		confirm: {type: 'boolean', description: 'a caller must confirm the number of targets'},
		readOnly: {type: 'boolean', description: 'it changes nothing (a read-only token may run it)'},
	},
	takesArgs: true,
	examples: ['allow uptime /usr/local/lib/xi/uptime.sh --description "load and uptime"'],
	async run({flags, args}, io, ports: AgentPorts) {
		const {allowScript} = await import('../commands.js');
		const [name, path] = args;
		allowScript(ports.paths, name, path, {
			description: flags.description,
			timeout: flags.timeout,
			schema: flags.schema,
			runAs: flags.runAs,
			interpreter: flags.interpreter,
			maxTargets: flags.maxTargets,
			confirm: flags.confirm,
			readOnly: flags.readOnly,
		});
		io.stdout(`Allowed ${name} → ${path}.\n`);
		return 0;
	},
});

export const deny = defineCommand({
	name: 'deny',
	summary: 'take a script off the allowlist',
	usage: ['deny NAME'],
	flags: {},
	takesArgs: true,
	async run({args}, io, ports: AgentPorts) {
		const {denyScript} = await import('../commands.js');
		denyScript(ports.paths, args[0]);
		io.stdout(`Removed ${args[0]} from the allowlist.\n`);
		return 0;
	},
});

export const scripts = defineCommand({
	name: 'scripts',
	summary: 'the allowlist',
	usage: ['scripts [--json]'],
	flags: {},
	async run({flags}, io, ports: AgentPorts) {
		const {readAllowlistFile} = await import('../home.js');
		const {safeJson, visible} = await import('../../source/output/visible.js');
		const {scripts: entries} = readAllowlistFile(ports.paths);
		if (flags.json) {
			io.stdout(safeJson({scripts: entries}, 2) + '\n');
		} else {
			for (const [name, entry] of Object.entries(entries)) {
				io.stdout(`${visible(name)}\t${visible(entry.path)}\t${visible(entry.description)}\n`);
			}
		}

		return 0;
	},
});

export const tag = defineCommand({
	name: 'tag',
	summary: 'the tags this agent proposes about itself',
	usage: ['tag set KEY=VALUE...', 'tag unset KEY...'],
	description: 'The controller\'s registry decides; `xi-exec agents` shows this agent as drifted until `xi-exec tag` agrees.',
	flags: {},
	takesArgs: true,
	async run({args}, io, ports: AgentPorts) {
		const [verb, ...words] = args;
		if (verb !== 'set' && verb !== 'unset') {
			throw new XiError('USAGE', 'usage: xi-exec-agent tag set KEY=VALUE... or xi-exec-agent tag unset KEY...');
		}

		const {changeOwnTags} = await import('../commands.js');
		const {formatTags} = await import('../../source/policy/tags.js');
		const {after} = changeOwnTags(ports.paths, verb, words);
		io.stdout(`Own tags: ${formatTags(after) || '(none)'}.\nThe controller's registry decides; \`xi-exec agents\` shows this agent as drifted until \`xi-exec tag\` agrees.\n`);
		return 0;
	},
});
