/**
 * The layers' import rules, over the folder graph of source/ and agent/ (static imports and
 * `import()`): no cycle, no face importing another face, the agent importing only shared
 * modules, the pure folders doing no IO. ARCHITECTURE.md says why. Today's tree breaks some of
 * them: each break is listed below with the move that removes it, and a listed edge that no
 * longer exists fails the last test, so the list only shrinks.
 */
import {readFileSync} from 'node:fs';
import test from 'ava';
import ts from 'typescript';
import {cycles, folderEdges, folderOf, sourceFiles} from './import-graph.js';

const files = [...sourceFiles('source'), ...sourceFiles('agent')];
const edges = folderEdges(files);
const faces = new Set(['source/commands', 'source/api', 'source/ui', 'source/mcp', 'source/demo']);
const pure = new Set(['source/protocol', 'source/pki', 'source/policy', 'source/registry', 'source/output', 'source/run']);
const agentMayNot = new Set(['source/commands', 'source/api', 'source/ui', 'source/mcp', 'source/demo', 'source/dispatch', 'source/home']);
const ioModules = /^(node:)?(fs|fs\/promises|net|tls|http|https|dgram|child_process)$|^(execa|lowdb|proper-lockfile)$/;

/** Edges that break a rule today, and what removes each (none left: add one only with the move that removes it). */
const exceptions = new Map<string, string>([]);

const name = (edge: {from: string; to: string}) => `${edge.from} -> ${edge.to}`;
const broken = (rule: (edge: {from: string; to: string}) => boolean) =>
	edges.filter(edge => rule(edge) && !exceptions.has(name(edge))).map(edge => `${name(edge)}: ${edge.files.join(', ')}`);

test('no face imports another face', t => {
	t.deepEqual(broken(edge => faces.has(edge.from) && faces.has(edge.to)), []);
});

test('the agent imports no controller face, dispatch or home', t => {
	t.deepEqual(broken(edge => edge.from.startsWith('agent') && agentMayNot.has(edge.to)), []);
});

test('the pure folders import neither the home nor an IO module', t => {
	t.deepEqual(broken(edge => pure.has(edge.from) && edge.to === 'source/home'), []);
	const io = files.filter(file => pure.has(folderOf(file))).flatMap(file =>
		ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles
			.filter(imported => ioModules.test(imported.fileName))
			.map(imported => `${file} imports ${imported.fileName}`));
	t.deepEqual(io, []);
});

test('the folder graph has no cycle', t => {
	t.deepEqual(cycles(edges.filter(edge => !exceptions.has(name(edge)))), []);
});

test('every listed exception is still in the graph (remove it from the list once fixed)', t => {
	const present = new Set(edges.map(edge => name(edge)));
	t.deepEqual([...exceptions.keys()].filter(edge => !present.has(edge)), []);
});

test('the cycle finder finds cycles', t => {
	t.deepEqual(cycles([{from: 'a', to: 'b'}, {from: 'b', to: 'c'}, {from: 'c', to: 'a'}, {from: 'c', to: 'd'}]), [['a', 'b', 'c']]);
	t.deepEqual(cycles([{from: 'a', to: 'b'}, {from: 'b', to: 'c'}]), []);
});
