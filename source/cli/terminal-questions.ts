/**
 * Questions on the terminal for commands that ask (a canary, a confirm script): the answer is read
 * from stdin, the question written to stderr. readline is loaded only when a question is asked:
 * most runs ask none (test/build/bundle.test.ts checks a one-shot loads no readline).
 */
export function askLine(stdin: NodeJS.ReadableStream): (question: string) => Promise<string> {
	return async question => {
		const {createInterface} = await import('node:readline/promises');
		const prompt = createInterface({input: stdin, output: process.stderr});
		try {
			return await prompt.question(question);
		} finally {
			prompt.close();
		}
	};
}

export function askYesNo(stdin: NodeJS.ReadableStream): (question: string) => Promise<boolean> {
	const ask = askLine(stdin);
	return async question => /^y(es)?$/i.test((await ask(question)).trim());
}
