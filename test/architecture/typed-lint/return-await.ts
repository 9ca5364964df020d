// The promise is returned, not awaited, inside try: its rejection never reaches the catch.
async function load(): Promise<string> {
	return Promise.reject(new Error('gone'));
}

export async function loadOrEmpty(): Promise<string> {
	try {
		return load();
	} catch {
		return '';
	}
}
