// A rolldown plugin for scripts/bundle.js: each chunk's static imports of node's builtins
// (`import {readFileSync} from "node:fs"`) become requires (`const {readFileSync} = __xiRequire("node:fs")`)
// through one createRequire per chunk. Why: node builds an ES module facade for every builtin an ES
// module imports, reading every export of it (node:process 2.6 ms, node:tls 1.3, node:fs 0.9 ms of CPU
// here, about 7 ms for a one-shot's builtins), where a require returns the object node already has.
// The program stays ES modules (its chunks, the lazy import()s, the packages from node_modules);
// node:module itself stays an import (createRequire comes from it, and bundled CommonJS packages
// already import it). Dynamic import()s of builtins are left as they are: loaded only when used.
import {builtinModules} from 'node:module';
import {parseSync} from 'rolldown/utils';

const requireName = '__xiRequire';
const builtins = new Set(builtinModules);
const isBuiltin = id => id.startsWith('node:') || builtins.has(id.split('/')[0]);

/** The statement that replaces one import declaration of a builtin. */
function asRequire(declaration) {
	const id = JSON.stringify(declaration.source.value);
	const named = [];
	const whole = [];
	for (const specifier of declaration.specifiers) {
		if (specifier.type === 'ImportSpecifier') {
			const imported = specifier.imported.name ?? specifier.imported.value;
			// A builtin's ES module default export is its module.exports: the object require returns.
			if (imported === 'default') {
				whole.push(specifier.local.name);
			} else {
				named.push(imported === specifier.local.name ? imported : `${JSON.stringify(imported)}: ${specifier.local.name}`);
			}
		} else {
			// Default and namespace: the namespace differs only in being frozen and having `default`, which the bundle does not read.
			whole.push(specifier.local.name);
		}
	}

	const statements = whole.map(local => `const ${local} = ${requireName}(${id});`);
	if (named.length > 0 || statements.length === 0) {
		statements.push(named.length > 0 ? `const { ${named.join(', ')} } = ${requireName}(${id});` : `${requireName}(${id});`);
	}

	return statements.join(' ');
}

export const builtinsRequired = {
	name: 'builtins-required',
	renderChunk(code, chunk) {
		if (code.includes(requireName)) {
			throw new Error(`${chunk.fileName} already names ${requireName}`);
		}

		const {program, errors} = parseSync(chunk.fileName, code);
		if (errors.length > 0) {
			throw new Error(`${chunk.fileName}: ${errors[0].message}`);
		}

		const replacements = [];
		for (const node of program.body) {
			const source = node.source?.value;
			if (typeof source !== 'string' || !isBuiltin(source) || source === 'node:module') {
				continue;
			}

			if (node.type !== 'ImportDeclaration' || node.importKind === 'type') {
				throw new Error(`${chunk.fileName}: ${node.type} from ${source} is not rewritten to a require`);
			}

			replacements.push({start: node.start, end: node.end, text: asRequire(node)});
		}

		if (replacements.length === 0) {
			return null;
		}

		let rewritten = code;
		for (const {start, end, text} of replacements.reverse()) {
			rewritten = `${rewritten.slice(0, start)}${text}${rewritten.slice(end)}`;
		}

		// Before the first import, which rolldown puts at the top: imports are hoisted, the requires run where they are.
		const first = program.body.find(node => node.type === 'ImportDeclaration')?.start ?? 0;
		const header = `import { createRequire as __xiCreateRequire } from "node:module";\nconst ${requireName} = __xiCreateRequire(import.meta.url);\n`;
		return {code: `${rewritten.slice(0, first)}${header}${rewritten.slice(first)}`, map: null};
	},
};
