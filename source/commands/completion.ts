/**
 * `xi-exec completion bash|zsh` prints a completion script; `xi-exec completion --list KIND`
 * (called by that script while the user presses Tab) prints what only the home knows, one word
 * a line: agent names, selector words (all, names, key=value tags), script names, run ids. It
 * reads local files only and never dials an agent; a home that is not initialised lists nothing.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {bashCompletion, listKinds, zshCompletion, type CompletionSpec, type ListKind} from '../output/completion-script.js';
import {historyDirectory} from '../history/run-store.js';
import {listRuns} from '../history/run-store.js';
import {openControllerRegistry, type ControllerPaths} from '../home.js';
import type {CommandIo} from '../io/command-io.js';

/** Scripts the last `xi-exec agents` found on the agents, for completion (written by agents.ts). */
export function scriptCachePath(paths: ControllerPaths): string {
	return join(paths.home, 'completion.json');
}

export function completionScript(shell: string | undefined, spec: CompletionSpec): string {
	if (shell === 'bash') {
		return bashCompletion(spec);
	}

	if (shell === 'zsh') {
		return zshCompletion(spec);
	}

	throw new XiError('USAGE', `completion takes bash or zsh${shell === undefined ? '' : `, not ${JSON.stringify(shell)}`}: source <(xi-exec completion bash).`);
}

export async function completionList(paths: ControllerPaths, kind: string, io: CommandIo): Promise<number> {
	if (!(listKinds as readonly string[]).includes(kind)) {
		throw new XiError('USAGE', `--list takes ${listKinds.join(', ')}; got ${JSON.stringify(kind)}.`);
	}

	// Only words a shell cannot expand: bash's `compgen -W` expands what it is given.
	const words = (await listWords(paths, kind as ListKind).catch(() => [])).filter(word => /^[A-Za-z0-9._:/@+=-]+$/.test(word));
	io.stdout(words.length === 0 ? '' : `${words.join('\n')}\n`);
	return 0;
}

async function listWords(paths: ControllerPaths, kind: ListKind): Promise<string[]> {
	if (!existsSync(paths.registry)) {
		return [];
	}

	switch (kind) {
		case 'agents':
		case 'selectors': {
			const {agents} = await openControllerRegistry(paths).read();
			const names = agents.map(agent => agent.name).sort();
			if (kind === 'agents') {
				return names;
			}

			const tags = new Set(agents.flatMap(agent => Object.entries(agent.tags).map(([key, value]) => `${key}=${value}`)));
			return ['all', ...names, ...[...tags].sort()];
		}

		case 'scripts': {
			const seen = new Set(listRuns(historyDirectory(paths), 200).map(run => run.header.script));
			try {
				for (const script of (JSON.parse(readFileSync(scriptCachePath(paths), 'utf8')) as {scripts?: unknown}).scripts as string[] ?? []) {
					if (typeof script === 'string') {
						seen.add(script);
					}
				}
			} catch {
				// No `xi-exec agents` yet: the history alone.
			}

			return [...seen].sort();
		}

		case 'runs': {
			return listRuns(historyDirectory(paths), 50).map(run => run.header.requestId);
		}
	}
}
