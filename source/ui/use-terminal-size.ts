/** The terminal's size, followed as it is resized (80×24 when it does not say). */
import {useStdout} from 'ink';
import {useEffect, useState} from 'react';

export function useTerminalSize(): {rows: number; columns: number} {
	const {stdout} = useStdout();
	const [size, setSize] = useState({rows: stdout.rows || 24, columns: stdout.columns || 80});
	useEffect(() => {
		const onResize = () => setSize({rows: stdout.rows || 24, columns: stdout.columns || 80});
		stdout.on('resize', onResize);
		// Read it again now: a resize between the first render and this subscription is not missed.
		onResize();
		return () => {
			stdout.off('resize', onResize);
		};
	}, [stdout]);
	return size;
}
