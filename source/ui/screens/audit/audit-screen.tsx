/** The audit screen as the console shell places it: its state and keys. */
import type {ConsoleCore} from '../../core.js';
import {Audit, auditRows} from './audit.js';
import {useAudit} from './use-audit.js';
import {useAuditState} from './use-audit-state.js';

export function AuditScreen({core, requestId, height, width, onBack, onHelp}: {core: ConsoleCore; requestId: string | undefined; height: number; width: number; onBack: () => void; onHelp: () => void}) {
	const [state, dispatch] = useAuditState(requestId);
	useAudit(state, dispatch, core, {onBack, onHelp, rows: auditRows(height, state)}, true);
	return <Audit state={state} height={height} width={width}/>;
}
