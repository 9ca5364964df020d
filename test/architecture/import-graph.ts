/**
 * The folder-level import graph of source/ and agent/: each module's imports (static and
 * `import()`), read with TypeScript's own pre-processor, folded into edges between folders.
 * A folder is `source/<dir>`, `agent` (with its command table, agent/cli/) or `agent/hooks` (an
 * executable of its own); a file directly under source/ is its own node (`source/errors`,
 * `source/home`), except source/cli.ts, which belongs with source/cli/.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';
import ts from 'typescript';

export type ImportEdge = {from: string; to: string; files: string[]};

const root = resolve(import.meta.dirname, '../..');

export function sourceFiles(directory: string): string[] {
	return readdirSync(join(root, directory), {recursive: true, encoding: 'utf8'})
		.filter(file => /\.tsx?$/.test(file) && !file.endsWith('.d.ts'))
		.map(file => join(directory, file))
		.sort();
}

/** The folder node a repository path belongs to. */
export function folderOf(path: string): string {
	const parts = path.replace(/\.(js|jsx|ts|tsx)$/, '').split('/');
	if (parts[0] === 'agent') {
		return parts.length > 2 && parts[1] !== 'cli' ? `agent/${parts[1]!}` : 'agent';
	}

	if (parts.length === 2) {
		return parts[1] === 'cli' ? 'source/cli' : `source/${parts[1]!}`;
	}

	return `source/${parts[1]!}`;
}

/** The relative imports of one file, as repository paths. */
export function importsOf(path: string): string[] {
	const text = readFileSync(join(root, path), 'utf8');
	const {importedFiles} = ts.preProcessFile(text, true, true);
	return importedFiles
		.map(imported => imported.fileName)
		.filter(name => name.startsWith('.'))
		.map(name => relative(root, resolve(root, dirname(path), name)));
}

/** Every edge between two different folders, with the files that make it. */
export function folderEdges(files: readonly string[]): ImportEdge[] {
	const edges = new Map<string, ImportEdge>();
	for (const file of files) {
		const from = folderOf(file);
		for (const target of importsOf(file)) {
			const to = folderOf(target);
			if (from === to) {
				continue;
			}

			const key = `${from} -> ${to}`;
			const edge = edges.get(key) ?? {from, to, files: []};
			edge.files.push(`${file} -> ${target}`);
			edges.set(key, edge);
		}
	}

	return [...edges.values()].sort((a, b) => `${a.from} ${a.to}`.localeCompare(`${b.from} ${b.to}`));
}

/** The cycles of a directed graph, one strongly connected component of two or more nodes each (Tarjan). */
export function cycles(edges: ReadonlyArray<{from: string; to: string}>): string[][] {
	const next = new Map<string, string[]>();
	for (const {from, to} of edges) {
		next.set(from, [...(next.get(from) ?? []), to]);
		next.set(to, next.get(to) ?? []);
	}

	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (node: string): void => {
		index.set(node, counter);
		low.set(node, counter);
		counter++;
		stack.push(node);
		onStack.add(node);
		for (const target of next.get(node) ?? []) {
			if (!index.has(target)) {
				visit(target);
				low.set(node, Math.min(low.get(node)!, low.get(target)!));
			} else if (onStack.has(target)) {
				low.set(node, Math.min(low.get(node)!, index.get(target)!));
			}
		}

		if (low.get(node) === index.get(node)) {
			const component: string[] = [];
			let member: string;
			do {
				member = stack.pop()!;
				onStack.delete(member);
				component.push(member);
			} while (member !== node);
			if (component.length > 1) {
				found.push(component.sort());
			}
		}
	};

	for (const node of [...next.keys()].sort()) {
		if (!index.has(node)) {
			visit(node);
		}
	}

	return found;
}
