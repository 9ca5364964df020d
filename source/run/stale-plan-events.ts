/**
 * The events of a run planned from cached descriptions (core/run-plan.ts), held back until its
 * host shows that it accepted the plan: a `started` or output passes them on, and so does a result
 * of any other kind. A host that refused the plan because its entry changed since it was cached
 * (`entryChanged`: nothing ran) makes the face ask again; the events of that attempt are dropped, so
 * the operator sees one run, the one asked again (both are in the audit log and the history). Pure.
 */
import type {RunEvent} from './events.js';

export type HeldEvents = {
	emit: (event: RunEvent) => void;
	/** A host refused the plan as stale: nothing was passed on, and nothing more will be. */
	stale: () => boolean;
};

export function holdUntilAccepted(emit: (event: RunEvent) => void): HeldEvents {
	let held: RunEvent[] | undefined = [];
	let stale = false;
	const release = () => {
		const events = held ?? [];
		held = undefined;
		for (const event of events) {
			emit(event);
		}
	};

	return {
		emit(event) {
			if (stale) {
				return;
			}

			if (held === undefined) {
				emit(event);
				return;
			}

			if (event.type === 'agent-finished' && event.result.entryChanged) {
				stale = true;
				held = undefined;
				return;
			}

			held.push(event);
			if (event.type === 'agent-started' || event.type === 'agent-output' || event.type === 'agent-finished') {
				release();
			}
		},
		stale: () => stale,
	};
}
