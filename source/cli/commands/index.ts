/** The controller's command table (`xi-exec COMMAND`), in the order the overview lists them. */
import type {CommandTable} from '../command.js';
import type {Program} from '../help.js';
import {agents} from './agents.js';
import {approvals, approve, reject} from './approvals.js';
import {audit} from './audit.js';
import {ca} from './ca.js';
import {completion} from './completion.js';
import {doctor, renew, rotate, unpair} from './certificates.js';
import {consoleCommand} from './console.js';
import {demo} from './demo.js';
import {init} from './init.js';
import {mcp} from './mcp.js';
import {pair} from './pair.js';
import {relay} from './relay.js';
import type {ControllerPorts} from './ports.js';
import {run} from './run.js';
import {runbook, runbooks} from './runbook.js';
import {cancel, runs} from './runs.js';
import {serve} from './serve.js';
import {tag, untag} from './tag.js';
import {token} from './token.js';

export const controllerCommands: CommandTable<ControllerPorts> = Object.fromEntries(
	[consoleCommand, demo, init, pair, agents, tag, untag, run, runs, cancel, approvals, approve, reject, runbook, runbooks, serve, mcp, token, audit, ca, relay, renew, rotate, unpair, doctor, completion]
		.map(command => [command.name, command]),
);

export const controllerProgram: Program = {
	name: 'xi-exec',
	about: 'xi-exec: run allowlisted scripts on a fleet of agents over mutual TLS. Alone in a terminal, it opens the console.',
	notes: `Selectors (--on, repeat for OR; --exclude or a leading ! removes)
  web1,db2                    agents by name
  web[01-40,45]               ranges, as --group prints them
  web*                        a glob on names
  env=production,role=web     agents with all of these tags (env=prod* globs a value)
  @FILE  -                    the clauses in a file, or on standard input (# comments)
  all                         every agent`,
	home: 'the controller\'s home (default $XI_EXEC_HOME, else ~/.xi-exec)',
	exitCodes: [[0, 'done (run: every target ok)'], [1, 'not done (run: any target not ok)'], [2, 'bad usage, or refused before running'], [3, 'waiting for approval (a run that needs one, not waited for)'], [130, 'interrupted (Ctrl-C)']],
};
