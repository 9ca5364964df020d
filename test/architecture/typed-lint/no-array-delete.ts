// delete leaves a hole in the array instead of removing the item.
export function dropFirst(items: string[]): string[] {
	delete items[0];
	return items;
}
