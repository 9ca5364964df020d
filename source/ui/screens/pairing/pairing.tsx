/**
 * Pairing: pending requests live, a field for the code read on the agent's screen. A match shows
 * both codes side by side; a mismatch says only that it does not match.
 */
import {Box, Text} from 'ink';
import {Spinner} from '../../frame-clock.js';
import {visible} from '../../../output/visible.js';
import {describeTransport} from '../../../pairing/transport-choice.js';
import {formatTags} from '../../../policy/tags.js';
import {theme} from '../../theme.js';
import type {PairingScreenState} from './use-pairing-state.js';

export function Pairing({state, height}: {state: PairingScreenState; height: number}) {
	const selected = state.requests[state.cursor];
	return (
		<Box flexDirection="column">
			{state.error ? <Text color={theme.bad}>Cannot open the pairing listener: {state.error}</Text> : null}
			{state.address ? (
				<Text>
					Listening on <Text bold>{state.address}</Text>. On the new host: <Text color={theme.accent}>xi-exec-agent pair --controller {state.address}</Text>
				</Text>
			) : state.error ? null : (
				<Text color={theme.info}><Spinner/> Opening the pairing listener...</Text>
			)}
			<Text bold>{state.requests.length === 0 ? 'No pending requests.' : `${state.requests.length} pending ${state.requests.length === 1 ? 'request' : 'requests'}:`}</Text>
			{state.requests.slice(0, Math.max(1, height - 9)).map((request, index) => (
				<Text key={request.ceremony} inverse={index === state.cursor} wrap="truncate">
					{visible(request.agent).padEnd(14)} {visible(request.address).padEnd(21)} {`from ${request.source}`.padEnd(20)} {visible(formatTags(request.tags))}
				</Text>
			))}
			{selected ? (
				<Box flexDirection="column" marginTop={1}>
					<Text color={theme.dim} wrap="truncate">key {selected.fingerprint}</Text>
					{selected.transport && selected.transport !== 'tls' ? <Text color={theme.dim} wrap="truncate">via {visible(describeTransport({transport: selected.transport, ...(selected.relay ? {relay: selected.relay} : {})}))}</Text> : null}
					<Box>
						<Text>Code shown on {visible(selected.agent)}: </Text>
						<Text bold>{formatTyped(state.code)}</Text>
						<Text inverse> </Text>
					</Box>
				</Box>
			) : null}
			{state.message ? <Message state={state}/> : null}
		</Box>
	);
}

function Message({state}: {state: PairingScreenState}) {
	const message = state.message!;
	switch (message.kind) {
		case 'match': {
			return <Text color={theme.good}>{`${visible(message.agent)}: agent ${message.agentCode}  =  controller ${message.controllerCode}  approved; waiting for the agent to confirm`}</Text>;
		}

		case 'mismatch': {
			return <Text color={theme.bad}>{`${visible(message.agent)}: ${visible(message.text)}`}</Text>;
		}

		case 'refused': {
			return <Text color={theme.warn} wrap="truncate">{visible(message.text)}</Text>;
		}

		case 'info': {
			return <Text color={theme.good}>{visible(message.text)}</Text>;
		}
	}
}

function formatTyped(code: string): string {
	const digits = code.replace(/\s/g, '');
	return digits.length > 3 ? `${digits.slice(0, 3)} ${digits.slice(3)}` : digits;
}
