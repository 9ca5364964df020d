// A save nobody awaits: its failure is lost and the caller returns before it ends.
async function save(text: string): Promise<void> {
	await Promise.resolve(text);
}

export function saveAll(texts: string[]): void {
	for (const text of texts) {
		save(text);
	}
}
