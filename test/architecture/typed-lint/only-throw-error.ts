// A string thrown has no stack and no code.
export function check(name: string): string {
	if (name === '') {
		throw 'a name is needed';
	}

	return name;
}
