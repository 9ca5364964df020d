// write() answers a boolean, not a promise: awaiting it does not wait for the bytes to drain.
export async function say(text: string): Promise<void> {
	await process.stdout.write(text);
}
