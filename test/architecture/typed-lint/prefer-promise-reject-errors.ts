// A promise rejected with a string: the catch gets no stack and no code.
export async function wait(ms: number): Promise<void> {
	return new Promise((resolve, reject) => {
		if (ms < 0) {
			reject('ms must not be negative');
		}

		setTimeout(resolve, ms);
	});
}
