#!/usr/bin/env node
/** xi-exec-agent: wiring only. Parse the command line, then call the command. */
import {parseArgs} from 'node:util';
import {runMain} from '../source/cli/main.js';
import {positiveInteger, usage} from '../source/cli/flags.js';
import {allowScript, changeOwnTags, denyScript, initAgent} from './commands.js';
import {formatTags} from '../source/policy/tags.js';
import {agentPaths, readAllowlistFile, resolveAgentHome} from './home.js';
import {safeJson, visible} from '../source/output/visible.js';

const help = `
  Usage
    $ xi-exec-agent init --name NAME --listen HOST:PORT [--advertise HOST:PORT] [--tag KEY=VALUE]...
    $ xi-exec-agent allow NAME /absolute/path [--description TEXT] [--timeout SECONDS] [--schema FILE|JSON]
                          [--run-as USER] [--interpreter /usr/bin/NAME] [--max-targets N] [--confirm] [--read-only]
    $ xi-exec-agent deny NAME
    $ xi-exec-agent scripts [--json]
    $ xi-exec-agent tag set KEY=VALUE... | tag unset KEY...   the tags this agent proposes about itself
    $ xi-exec-agent pair --controller HOST:PORT [--ca-sha256 HASH] [--json] [--timeout SECONDS]
    $ xi-exec-agent start
    $ xi-exec-agent audit [--request ID] [--since 1h] [--json]
    $ xi-exec-agent audit verify             check the hash chain and the signed checkpoints

  Options
    --home DIR     the agent's home (default $XI_EXEC_AGENT_HOME, else ~/.xi-exec-agent)
    --debug        print stack traces

  The agent runs only the scripts on its allowlist, for a controller whose certificate it pinned
  at pairing. \`allow\` and \`deny\` take effect at once in a running agent (SIGHUP reloads too).
`;

const commandFlags = {
	init: {name: {type: 'string'}, listen: {type: 'string'}, advertise: {type: 'string'}, tag: {type: 'string', isMultiple: true}},
	allow: {description: {type: 'string'}, timeout: {type: 'number'}, schema: {type: 'string'}, runAs: {type: 'string'}, interpreter: {type: 'string'}, maxTargets: {type: 'number'}, confirm: {type: 'boolean'}, readOnly: {type: 'boolean'}},
	deny: {},
	scripts: {json: {type: 'boolean'}},
	tag: {},
	pair: {controller: {type: 'string'}, caSha256: {type: 'string'}, json: {type: 'boolean'}, timeout: {type: 'number'}},
	start: {},
	audit: {request: {type: 'string'}, since: {type: 'string'}, json: {type: 'boolean'}},
} as const;

// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
void runMain('xi-exec-agent', async () => {
	const [command, ...rest] = process.argv.slice(2);
	if (command === undefined || command === '--help' || command === 'help') {
		process.stdout.write(help.trimStart());
		return command === undefined ? 2 : 0;
	}

	if (command === '--version') {
		process.stdout.write('0.1.0\n');
		return 0;
	}

	if (!Object.hasOwn(commandFlags, command)) {
		usage(`unknown command ${JSON.stringify(command)}; run xi-exec-agent --help.`);
	}

	// The daemon takes only --home and --debug: read without meow, which would stay in its memory for life.
	if (command === 'start') {
		process.title = 'xi-exec-agent';
		let home: string | undefined;
		try {
			({values: {home}} = parseArgs({args: rest, options: {home: {type: 'string'}, debug: {type: 'boolean'}}, strict: true, allowPositionals: false}));
		} catch (error) {
			usage(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; xi-exec-agent start takes only --home DIR and --debug.`);
		}

		const {startAgent} = await import('./start.js');
		return startAgent(agentPaths(resolveAgentHome(home, process.env)));
	}

	const {default: meow} = await import('meow');
	const cli = meow(help, {
		importMeta: import.meta,
		argv: rest,
		allowUnknownFlags: false,
		autoHelp: true,
		autoVersion: false,
		flags: {home: {type: 'string'}, debug: {type: 'boolean'}, ...commandFlags[command as keyof typeof commandFlags]},
	});
	// meow titles the process after the package's first bin (xi-exec); this is the agent.
	process.title = 'xi-exec-agent';
	const flags = cli.flags as Record<string, unknown>;
	const paths = agentPaths(resolveAgentHome(flags['home'] as string | undefined, process.env));

	switch (command) {
		case 'init': {
			const name = initAgent(paths, {name: flags['name'] as string, listen: flags['listen'] as string, advertise: flags['advertise'] as string | undefined, tags: (flags['tag'] as string[] | undefined) ?? []});
			process.stdout.write(`Agent ${name} is set up in ${paths.home}.\nNext: allowlist scripts with \`xi-exec-agent allow NAME /path\`, then pair with \`xi-exec-agent pair --controller HOST:PORT\`.\n`);
			return 0;
		}

		case 'allow': {
			const [name, path] = cli.input;
			allowScript(paths, name, path, {
				description: flags['description'] as string | undefined,
				timeout: flags['timeout'] as number | undefined,
				schema: flags['schema'] as string | undefined,
				runAs: flags['runAs'] as string | undefined,
				interpreter: flags['interpreter'] as string | undefined,
				maxTargets: flags['maxTargets'] as number | undefined,
				confirm: flags['confirm'] as boolean | undefined,
				readOnly: flags['readOnly'] as boolean | undefined,
			});
			process.stdout.write(`Allowed ${name} → ${path}.\n`);
			return 0;
		}

		case 'deny': {
			denyScript(paths, cli.input[0]);
			process.stdout.write(`Removed ${cli.input[0]} from the allowlist.\n`);
			return 0;
		}

		case 'scripts': {
			const {scripts} = readAllowlistFile(paths);
			if (flags['json']) {
				process.stdout.write(safeJson({scripts}, 2) + '\n');
			} else {
				for (const [name, entry] of Object.entries(scripts)) {
					process.stdout.write(`${visible(name)}\t${visible(entry.path)}\t${visible(entry.description)}\n`);
				}
			}

			return 0;
		}

		case 'tag': {
			const [verb, ...words] = cli.input;
			if (verb !== 'set' && verb !== 'unset') {
				usage('usage: xi-exec-agent tag set KEY=VALUE... or xi-exec-agent tag unset KEY...');
			}

			const {after} = changeOwnTags(paths, verb, words);
			process.stdout.write(`Own tags: ${formatTags(after) || '(none)'}.\nThe controller's registry decides; \`xi-exec agents\` shows this agent as drifted until \`xi-exec tag\` agrees.\n`);
			return 0;
		}

		case 'audit': {
			const audit = await import('../source/commands/audit.js');
			const io = {stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text), onInterrupt() {
				// Nothing to cancel.
			}};
			if (cli.input[0] === 'verify') {
				const {agentAuditVerifier} = await import('./agent-audit.js');
				return audit.auditVerifyCommand(paths.auditLog, agentAuditVerifier(paths), io);
			}

			if (cli.input.length > 0) {
				usage(`unknown audit command ${JSON.stringify(cli.input[0])}; use \`xi-exec-agent audit\` or \`xi-exec-agent audit verify\`.`);
			}

			return audit.auditListCommand(paths.auditLog, {request: flags['request'] as string | undefined, since: flags['since'] as string | undefined, json: Boolean(flags['json'])}, io);
		}

		case 'pair': {
			const {pairCommand} = await import('./pair-command.js');
			return pairCommand(paths, {
				controller: flags['controller'] as string | undefined,
				caSha256: flags['caSha256'] as string | undefined,
				json: Boolean(flags['json']),
				timeoutSeconds: positiveInteger('timeout', flags['timeout'] as number | undefined, {max: 86_400}) ?? 300,
			}, {stdout: text => process.stdout.write(text), interactive: Boolean(process.stdin.isTTY)});
		}

		default: {
			usage(`unknown command ${JSON.stringify(command)}; run xi-exec-agent --help.`);
		}
	}
});
