// The cast changes nothing today (the type guard already narrowed `body`), and once ReplyBody
// changes it keeps compiling while it should not.
type ReplyBody = {type: 'result'; status: string};

function isReply(value: unknown): value is ReplyBody {
	return typeof value === 'object' && value !== null && (value as {type?: unknown}).type === 'result';
}

export function reply(value: unknown): ReplyBody | undefined {
	const body = isReply(value) ? value : undefined;
	return body === undefined ? undefined : body as ReplyBody;
}
