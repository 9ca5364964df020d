// forEach drops what its callback returns: the saves run unawaited and their failures are lost.
async function save(text: string): Promise<void> {
	await Promise.resolve(text);
}

export function saveAll(texts: string[]): void {
	texts.forEach(async text => {
		await save(text);
	});
}
