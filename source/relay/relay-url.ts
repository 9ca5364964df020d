/** A broker's URL as the agent's config, the registry and `pair --relay` hold it: nats://HOST:PORT (tls:// is accepted as nats-server's own spelling). Pure. */
export const relayUrlPattern = /^(nats|tls):\/\/[^\s/@]+:\d{1,5}$/;

export function isRelayUrl(value: unknown): value is string {
	return typeof value === 'string' && value.length <= 300 && relayUrlPattern.test(value);
}
