// The method taken off its object loses `this`: calling it throws.
class Counter {
	private count = 0;

	next(): number {
		this.count += 1;
		return this.count;
	}
}

export const next = new Counter().next;
