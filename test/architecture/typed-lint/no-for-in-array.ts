// for…in over an array visits its keys as strings, not its items.
export function total(amounts: number[]): number {
	let sum = 0;
	for (const amount in amounts) {
		sum += Number(amount);
	}

	return sum;
}
