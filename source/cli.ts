#!/usr/bin/env node
/** xi-exec: wiring only. Parse the command line (meow), build the real ports, call a command. */
import meow from 'meow';
import {runMain} from './cli/main.js';
import {standardOutput} from './io/standard-output.js';
import {positiveInteger, usage} from './cli/flags.js';
import {readCallerToken} from './cli/read-token.js';
import {readSelectorArguments} from './cli/read-selector.js';
import {controllerPaths, resolveControllerHome} from './home.js';
import type {CommandIo} from './commands/run.js';

const help = `
  Usage
    $ xi-exec                                          the console (in a terminal)
    $ xi-exec demo                                     a local demo fleet, paired for real, in the console
    $ xi-exec init                                     create the fleet CA and controller keys
    $ xi-exec agents [--on SELECTOR] [--json]          list agents, asking each what it runs
    $ xi-exec tag NAME KEY=VALUE... | untag NAME KEY...   change an agent's tags in the registry
    $ xi-exec run SCRIPT --on SELECTOR [-- ARGS...]    run an allowlisted script on agents
          [--parallel N] [--timeout SECONDS] [--json] [--dry-run] [--token-file FILE] [--group]
          [--batch N|N%] [--max-failures N|N%] [--ignore-unreachable] [--canary N] [--yes] [--shuffle]
          [--run-timeout SECONDS] [--idle-timeout SECONDS] [--outdir DIR] [--no-progress]
    $ xi-exec run --rerun ID --only failed,timeout,unreachable,cancelled
    $ xi-exec runs [--json] | xi-exec runs show ID [--agent NAME] [--json]
    $ xi-exec cancel ID                                cancel a run from another terminal
    $ xi-exec serve [--listen 127.0.0.1:8443] [--cert FILE --key FILE]   the REST API
    $ xi-exec token create --name NAME --scripts a,b --on SELECTOR [--expires 30d]
    $ xi-exec token list [--json] | xi-exec token revoke NAME
    $ xi-exec pair --listen HOST:PORT [--json] [--replace] [--timeout SECONDS]
                                                       open the pairing listener; approve NAME CODE on stdin
    $ xi-exec audit [--request ID] [--agent NAME] [--since 1h] [--json]
    $ xi-exec audit verify [--cross AGENT-LOG...]      check the hash chain and checkpoints
    $ xi-exec ca fingerprint                           the CA's SHA-256 (for xi-exec-agent pair --ca-sha256)
    $ xi-exec ca protect                               encrypt the CA key with XI_EXEC_CA_PASSPHRASE
    $ xi-exec renew [--on SELECTOR]                    renew agent certificates now (it also happens by itself)
    $ xi-exec rotate [--force]                         new controller certificate, handed to every agent first
    $ xi-exec unpair NAME                              revoke an agent and tell it to delete its credentials
    $ xi-exec doctor [--json]                          certificates and keys, checked before they expire

  Selectors (--on, repeat for OR; --exclude or a leading ! removes)
    web1,db2             agents by name            web[01-40,45]   ranges, as --group prints them
    web*                 a glob on names           all             every agent
    env=production,role=web   agents with all of these tags (env=prod* globs a value)
    @FILE  -             the clauses in a file, or on standard input (# comments)

  Options
    --home DIR     the controller's home (default $XI_EXEC_HOME, else ~/.xi-exec)
    --debug        print stack traces

  Exit status: 0 all targets ok, 1 any target not ok, 2 bad usage or refused before running, 130 Ctrl-C.
`;

const commandFlags = {
	init: {},
	agents: {on: {type: 'string', isMultiple: true}, exclude: {type: 'string', isMultiple: true}, json: {type: 'boolean'}, timeout: {type: 'number'}},
	run: {
		on: {type: 'string', isMultiple: true}, exclude: {type: 'string', isMultiple: true}, parallel: {type: 'number'}, timeout: {type: 'number'}, json: {type: 'boolean'}, dryRun: {type: 'boolean'}, token: {type: 'string'}, tokenFile: {type: 'string'},
		batch: {type: 'string'}, maxFailures: {type: 'string'}, ignoreUnreachable: {type: 'boolean'}, canary: {type: 'number'}, yes: {type: 'boolean'}, shuffle: {type: 'boolean'},
		runTimeout: {type: 'number'}, idleTimeout: {type: 'number'}, group: {type: 'boolean'}, rerun: {type: 'string'}, only: {type: 'string'},
		outdir: {type: 'string'}, progress: {type: 'boolean', default: true},
	},
	runs: {json: {type: 'boolean'}, agent: {type: 'string'}},
	tag: {json: {type: 'boolean'}},
	untag: {json: {type: 'boolean'}},
	cancel: {},
	serve: {listen: {type: 'string'}, cert: {type: 'string'}, key: {type: 'string'}},
	token: {name: {type: 'string'}, scripts: {type: 'string'}, on: {type: 'string', isMultiple: true}, exclude: {type: 'string', isMultiple: true}, expires: {type: 'string'}, json: {type: 'boolean'}},
	ca: {},
	renew: {on: {type: 'string', isMultiple: true}, exclude: {type: 'string', isMultiple: true}},
	rotate: {force: {type: 'boolean'}},
	unpair: {},
	doctor: {json: {type: 'boolean'}},
	pair: {listen: {type: 'string'}, json: {type: 'boolean'}, replace: {type: 'boolean'}, timeout: {type: 'number'}},
	demo: {},
	console: {pairListen: {type: 'string'}},
	audit: {request: {type: 'string'}, agent: {type: 'string'}, since: {type: 'string'}, json: {type: 'boolean'}, cross: {type: 'string', isMultiple: true}},
} as const;

const output = standardOutput();
const io: CommandIo = {
	stdout: text => output.stdout.write(text),
	stderr: text => output.stderr.write(text),
	onInterrupt(handler) {
		process.on('SIGINT', handler);
	},
};

// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
void runMain('xi-exec', async () => {
	const argv = process.argv.slice(2);
	const separator = argv.indexOf('--');
	const before = separator === -1 ? argv : argv.slice(0, separator);
	const afterSeparator = separator === -1 ? [] : argv.slice(separator + 1);
	const openConsole = (before.length === 0 || before[0]!.startsWith('--')) && !before.some(arg => arg === '--help' || arg === '--version') && Boolean(process.stdin.isTTY && process.stdout.isTTY);
	const [command, ...rest] = openConsole ? ['console', ...before] : before;
	if (command === undefined || command === '--help' || command === 'help') {
		process.stdout.write(help.trimStart());
		return command === undefined ? 2 : 0;
	}

	if (command === '--version') {
		process.stdout.write('0.1.0\n');
		return 0;
	}

	if (!Object.hasOwn(commandFlags, command)) {
		usage(`unknown command ${JSON.stringify(command)}; run xi-exec --help.`);
	}

	const cli = meow(help, {
		importMeta: import.meta,
		argv: rest,
		allowUnknownFlags: false,
		autoHelp: true,
		autoVersion: false,
		flags: {home: {type: 'string'}, debug: {type: 'boolean'}, ...commandFlags[command as keyof typeof commandFlags]},
	});
	const flags = cli.flags as Record<string, unknown>;
	const selector = () => readSelectorArguments((flags['on'] as string[] | undefined) ?? [], (flags['exclude'] as string[] | undefined) ?? []);
	const paths = controllerPaths(resolveControllerHome(flags['home'] as string | undefined, process.env));

	switch (command) {
		case 'init': {
			const {initControllerHome} = await import('./home.js');
			const {caSha256} = await initControllerHome(paths.home, new Date());
			io.stdout(`Fleet CA created in ${paths.home}.\nCA fingerprint (sha256 of its public key): ${caSha256}\nNext: \`xi-exec pair --listen HOST:PORT\`, and on each new host \`xi-exec-agent pair --controller HOST:PORT\`.\n`);
			return 0;
		}

		case 'demo': {
			const {demoCommand} = await import('./commands/demo.js');
			return demoCommand(io, {interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY)});
		}

		case 'console': {
			const {parseHostPort} = await import('./io/address.js');
			const pairListen = parseHostPort((flags['pairListen'] as string | undefined) ?? '0.0.0.0:7400');
			if (typeof pairListen === 'string') {
				usage(`--pair-listen ${pairListen}.`);
			}

			const {createConsoleCore} = await import('./ui/console-core.js');
			const {defaultCaller} = await import('./commands/run.js');
			const core = createConsoleCore(paths, {caller: defaultCaller(), pairListen});
			const {startConsole} = await import('./ui/start-console.js');
			return startConsole(core);
		}

		case 'ca': {
			if (cli.input[0] === 'protect') {
				const passphrase = process.env['XI_EXEC_CA_PASSPHRASE'];
				if (!passphrase || passphrase.length < 12) {
					usage('xi-exec ca protect takes the passphrase from XI_EXEC_CA_PASSPHRASE (12 characters at least).');
				}

				const {caProtectCommand} = await import('./commands/ca.js');
				return caProtectCommand(paths, passphrase, io);
			}

			if (cli.input[0] !== 'fingerprint') {
				usage('usage: xi-exec ca fingerprint | xi-exec ca protect.');
			}

			const {caFingerprint} = await import('./commands/ca.js');
			io.stdout(`${caFingerprint(paths)}\n`);
			return 0;
		}

		case 'renew': {
			const {renewCommand} = await import('./commands/certificates.js');
			return renewCommand(paths, {on: selector()}, io);
		}

		case 'rotate': {
			const {rotateCommand} = await import('./commands/certificates.js');
			return rotateCommand(paths, {force: Boolean(flags['force'])}, io);
		}

		case 'unpair': {
			if (cli.input.length !== 1) {
				usage('usage: xi-exec unpair NAME.');
			}

			const {unpairCommand} = await import('./commands/certificates.js');
			return unpairCommand(paths, {name: cli.input[0]!}, io);
		}

		case 'doctor': {
			const {doctorCommand} = await import('./commands/doctor.js');
			return doctorCommand(paths, {json: Boolean(flags['json'])}, io);
		}

		case 'pair': {
			const {pairCommand} = await import('./commands/pair.js');
			return pairCommand(paths, {
				listen: flags['listen'] as string | undefined,
				json: Boolean(flags['json']),
				replace: Boolean(flags['replace']),
				timeoutSeconds: positiveInteger('timeout', flags['timeout'] as number | undefined, {max: 86_400}) ?? 300,
			}, {...io, stdin: process.stdin});
		}

		case 'runs': {
			const runs = await import('./commands/runs.js');
			if (cli.input[0] === 'show') {
				return runs.runsShowCommand(paths, {id: cli.input[1], agent: flags['agent'] as string | undefined, json: Boolean(flags['json'])}, io);
			}

			if (cli.input.length > 0) {
				usage(`unknown runs command ${JSON.stringify(cli.input[0])}; use \`xi-exec runs\` or \`xi-exec runs show ID\`.`);
			}

			return runs.runsListCommand(paths, {json: Boolean(flags['json'])}, io);
		}

		case 'cancel': {
			const {cancelCommand} = await import('./commands/runs.js');
			return cancelCommand(paths, cli.input[0], io);
		}

		case 'serve': {
			const {serveCommand} = await import('./commands/serve.js');
			return serveCommand(paths, {listen: flags['listen'] as string | undefined, cert: flags['cert'] as string | undefined, key: flags['key'] as string | undefined}, io);
		}

		case 'token': {
			const tokens = await import('./commands/token.js');
			const [verb, name] = cli.input;
			if (verb === 'create') {
				return tokens.tokenCreate(paths, {name: flags['name'] as string | undefined, scripts: flags['scripts'] as string | undefined, on: selector(), expires: flags['expires'] as string | undefined, json: Boolean(flags['json'])}, io);
			}

			if (verb === 'list') {
				return tokens.tokenList(paths, {json: Boolean(flags['json'])}, io);
			}

			if (verb === 'revoke') {
				return tokens.tokenRevoke(paths, name, io);
			}

			return usage('usage: xi-exec token create|list|revoke.');
		}

		case 'audit': {
			const audit = await import('./commands/audit.js');
			if (cli.input[0] === 'verify') {
				const {controllerAuditVerifier, agentVerifierFromRegistry} = await import('./audit/controller-log.js');
				const cross = flags['cross'] as string[] | undefined;
				if (!cross || cross.length === 0) {
					return audit.auditVerifyCommand(paths.auditLog, controllerAuditVerifier(paths), io);
				}

				const {openControllerRegistry} = await import('./home.js');
				const registry = await openControllerRegistry(paths).read();
				return audit.auditVerifyCommand(paths.auditLog, controllerAuditVerifier(paths), io, {agentLogs: cross, agentVerifier: agent => agentVerifierFromRegistry(registry, agent)});
			}

			if (cli.input.length > 0) {
				usage(`unknown audit command ${JSON.stringify(cli.input[0])}; use \`xi-exec audit\` or \`xi-exec audit verify\`.`);
			}

			return audit.auditListCommand(paths.auditLog, {
				request: flags['request'] as string | undefined,
				agent: flags['agent'] as string | undefined,
				since: flags['since'] as string | undefined,
				json: Boolean(flags['json']),
			}, io);
		}

		case 'tag':
		case 'untag': {
			const {tagCommand} = await import('./commands/tag.js');
			const [name, ...words] = [...cli.input, ...afterSeparator];
			return tagCommand(paths, {name, words, mode: command === 'tag' ? 'set' : 'unset', json: Boolean(flags['json'])}, io);
		}

		case 'agents': {
			const {agentsCommand} = await import('./commands/agents.js');
			return agentsCommand(paths, {
				on: selector(),
				json: Boolean(flags['json']),
				timeoutSeconds: positiveInteger('timeout', flags['timeout'] as number | undefined, {max: 300}) ?? 3,
			}, io);
		}

		default: {
			const {runCommand} = await import('./commands/run.js');
			const {parseRunControl, rerunScript} = await import('./commands/run-flags.js');
			const control = parseRunControl(flags);
			let [script, ...args] = [...cli.input, ...afterSeparator];
			if (control.rerun) {
				if (script !== undefined || ((flags['on'] as string[] | undefined) ?? []).length > 0 || ((flags['exclude'] as string[] | undefined) ?? []).length > 0) {
					usage('--rerun ID runs the same script and arguments on hosts of that run: give no script, arguments or --on.');
				}

				const {historyDirectory} = await import('./dispatch/run-request.js');
				({script, args} = rerunScript(historyDirectory(paths), control.rerun));
			}

			return runCommand(paths, {
				...control.input,
				script,
				args,
				on: control.rerun ? [] : selector(),
				parallel: positiveInteger('parallel', flags['parallel'] as number | undefined, {max: 4096}) ?? 64,
				timeoutSeconds: positiveInteger('timeout', flags['timeout'] as number | undefined, {max: 86_400}) ?? 30,
				json: Boolean(flags['json']),
				dryRun: Boolean(flags['dryRun']),
				...(typeof flags['outdir'] === 'string' ? {outdir: flags['outdir']} : {}),
				...(flags['progress'] && process.stderr.isTTY ? {progress: {columns: () => process.stderr.columns}} : {}),
				token: readCallerToken({tokenFile: flags['tokenFile'], token: flags['token'], env: process.env, warn: io.stderr}),
			}, io);
		}
	}
});
