// A kind of event added to the union and forgotten here is silently ignored.
type Event = {type: 'started'} | {type: 'output'; text: string} | {type: 'finished'};

export function line(event: Event): string {
	let text = '';
	switch (event.type) {
		case 'started': {
			text = 'started';
			break;
		}

		case 'output': {
			text = event.text;
			break;
		}
	}

	return text;
}
