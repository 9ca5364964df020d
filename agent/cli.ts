#!/usr/bin/env node
/**
 * xi-exec-agent: wiring only. The command table, the real ports, and the shared runner (which
 * reads flags with node:util, so the daemon holds no command-line library in its memory).
 */
// First, before any other module loads: the descriptors this process inherited (at-exec.ts).
import './at-exec.js';
import {runMain} from '../source/cli/main.js';
import {runExecutable} from '../source/cli/runner.js';
import {processIo} from '../source/io/command-io.js';
import {agentCommands, agentProgram} from './cli/index.js';
import {agentPaths, readAgentConfig, resolveAgentHome} from './home.js';

process.title = 'xi-exec-agent';
// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
void runMain('xi-exec-agent', async () => runExecutable({
	program: agentProgram,
	table: agentCommands,
	ports: globals => ({paths: agentPaths(resolveAgentHome(globals.home, process.env)), env: process.env, interactive: Boolean(process.stdin.isTTY)}),
	// An initialised agent home has its configuration (readAgentConfig names `xi-exec-agent init` otherwise).
	requireHome: ports => void readAgentConfig(ports.paths),
}, process.argv.slice(2), processIo()));
