/**
 * No face decides anything about an approval: the CLI (source/commands), the REST API, the
 * console, MCP and runbooks take from source/approvals only the use case's entry points (open a
 * gated run, claim, wait, the approvals face, resolve again), its words (the lines every face
 * prints) and the central endpoint's check. The decisions — who may approve, quorum, expiry,
 * which plans need approval, the plan hash check — are called inside source/approvals only. Read
 * with TypeScript's own parser over every file of those folders.
 */
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import test from 'ava';
import ts from 'typescript';
import {sourceFiles} from '../architecture/import-graph.js';

const faces = ['source/commands', 'source/api', 'source/ui', 'source/mcp', 'source/runbooks', 'source/demo'];

const useCase = new Set([
	// The use case: a run through approval, the approvals face, resolving a plan again.
	'resolveGated', 'claimForRun', 'waitThenClaim', 'awaitOwnApproval', 'withdrawWaiting', 'wasWithdrawn', 'planOnceApproved', 'createApprovalsFace', 'resolvePlanHashAgain', 'resolvePlanHashWith',
	// Its words, the same on every face.
	'approvalLines', 'approvalRow', 'waitingLine', 'describeNeeds', 'answerLines',
	// The central policy endpoint: the use case's own check of a claimed approval, on the stored request.
	'approvalProblem', 'openApprovalStore',
]);

/** Every value (not type-only) a file imports from source/approvals, as `NAME (file)`. */
function approvalImports(file: string): string[] {
	const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
	const names: string[] = [];
	for (const statement of source.statements) {
		if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !join(dirname(file), statement.moduleSpecifier.text).startsWith('source/approvals/')) {
			continue;
		}

		const clause = statement.importClause;
		if (!clause || clause.isTypeOnly) {
			continue;
		}

		const bindings = clause.namedBindings;
		if (bindings && ts.isNamedImports(bindings)) {
			names.push(...bindings.elements.filter(element => !element.isTypeOnly).map(element => `${(element.propertyName ?? element.name).text} (${file})`));
		} else if (bindings || clause.name) {
			names.push(`a default or namespace import (${file})`);
		}
	}

	return names;
}

const imported = faces.flatMap(folder => sourceFiles(folder)).flatMap(file => approvalImports(file));

test('the faces take only the approvals use case, its words and the central check', t => {
	t.deepEqual(imported.filter(entry => !useCase.has(entry.split(' ')[0]!)), []);
});

test('the scan is not empty: it sees each face call the use case', t => {
	for (const [name, file] of [['createApprovalsFace', 'source/commands/approvals.ts'], ['resolveGated', 'source/api/start-run.ts'], ['claimForRun', 'source/api/approval-routes.ts']]) {
		t.true(imported.includes(`${name} (${file})`), `${name} in ${file}`);
	}
});
