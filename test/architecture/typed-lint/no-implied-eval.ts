// The Function constructor evaluates a string as code.
export function compile(expression: string): () => unknown {
	return new Function(`return ${expression}`) as () => unknown;
}
