/**
 * What a module needs at run time, followed to the end: its imports, `export … from` and
 * `import()` with a literal name, read from TypeScript's own syntax tree, minus what is erased
 * (`import type`, `export type`, an import whose every named binding is `type`). Relative imports
 * are followed file by file (`.js` written, `.ts` or `.tsx` on disk); package and `node:` imports
 * are reported, not followed.
 */
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '../..');

/** The module names one file imports at run time, as written. */
export function runtimeSpecifiers(path: string): string[] {
	const source = ts.createSourceFile(path, readFileSync(join(root, path), 'utf8'), ts.ScriptTarget.Latest, true);
	const found: string[] = [];
	const visit = (node: ts.Node): void => {
		if (ts.isImportDeclaration(node) && !erased(node.importClause)) {
			found.push((node.moduleSpecifier as ts.StringLiteral).text);
		} else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
			found.push((node.moduleSpecifier as ts.StringLiteral).text);
		} else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
			found.push(node.arguments[0].text);
		}

		ts.forEachChild(node, visit);
	};

	visit(source);
	return found;
}

/** `import type {…}`, or `import {type A, type B}`: nothing is left of it once compiled. */
function erased(clause: ts.ImportClause | undefined): boolean {
	if (!clause) {
		return false;
	}

	if (clause.isTypeOnly) {
		return true;
	}

	const bindings = clause.namedBindings;
	return clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every(element => element.isTypeOnly);
}

/** The repository path a relative specifier in `from` names. */
function resolveRelative(from: string, specifier: string): string {
	const base = relative(root, resolve(root, dirname(from), specifier));
	return [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base].find(candidate => existsSync(join(root, candidate))) ?? base;
}

/** Every file `start` reaches at run time (itself included), and the packages each one imports. */
export function runtimeClosure(start: string): {files: string[]; packages: Array<{file: string; specifier: string}>} {
	const files = new Set([start]);
	const packages: Array<{file: string; specifier: string}> = [];
	const pending = [start];
	while (pending.length > 0) {
		const file = pending.pop()!;
		for (const specifier of runtimeSpecifiers(file)) {
			if (!specifier.startsWith('.')) {
				packages.push({file, specifier});
				continue;
			}

			const target = resolveRelative(file, specifier);
			if (!files.has(target)) {
				files.add(target);
				pending.push(target);
			}
		}
	}

	return {files: [...files].sort(), packages};
}
