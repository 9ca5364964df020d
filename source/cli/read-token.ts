/**
 * The caller's token for `xi-exec run`: `--token-file FILE` first (the file must give its group and
 * others no access), then `XI_EXEC_TOKEN`, then `--token` (which other users see in `ps`, so it
 * warns). Giving more than one flag is a usage error; the environment is only a fallback.
 */
import {openSync, fstatSync, readFileSync, closeSync, constants} from 'node:fs';
import {XiError} from '../errors.js';

export type TokenSources = {tokenFile?: unknown; token?: unknown; env: NodeJS.ProcessEnv; warn: (text: string) => void};

export const tokenFlagWarning = 'xi-exec: warning: --token is visible to other users in `ps`; prefer XI_EXEC_TOKEN or --token-file.\n';

export function readCallerToken(sources: TokenSources): string | undefined {
	if (typeof sources.tokenFile === 'string' && typeof sources.token === 'string') {
		throw new XiError('USAGE', 'Give --token-file or --token, not both.');
	}

	if (typeof sources.tokenFile === 'string') {
		return readTokenFile(sources.tokenFile);
	}

	if (typeof sources.token === 'string') {
		sources.warn(tokenFlagWarning);
		return nonEmpty(sources.token, '--token');
	}

	const fromEnv = sources.env['XI_EXEC_TOKEN'];
	return fromEnv ? nonEmpty(fromEnv, 'XI_EXEC_TOKEN') : undefined;
}

/** Reads a token file, refusing one that group or others may read (checked on the open file, not the path). */
export function readTokenFile(path: string): string {
	let fd: number;
	try {
		fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		const hint = code === 'ELOOP' ? ' (a symbolic link: give the file itself)' : '';
		throw new XiError('CONFIG_INVALID', `Cannot read the token file ${path}: ${code ?? (error as Error).message}${hint}.`, {cause: error});
	}

	try {
		const stat = fstatSync(fd);
		if (!stat.isFile()) {
			throw new XiError('CONFIG_INVALID', `The token file ${path} is not a regular file.`);
		}

		if ((stat.mode & 0o077) !== 0) {
			throw new XiError('TOKEN_FILE_UNSAFE', `The token file ${path} is open to ${[(stat.mode & 0o070) === 0 ? '' : 'its group', (stat.mode & 0o007) === 0 ? '' : 'others'].filter(Boolean).join(' and ')} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\` and try again.`);
		}

		if (stat.size > 4096) {
			throw new XiError('CONFIG_INVALID', `The token file ${path} is ${stat.size} bytes; a token is one short line.`);
		}

		return nonEmpty(readFileSync(fd, 'utf8'), `the token file ${path}`);
	} finally {
		closeSync(fd);
	}
}

function nonEmpty(text: string, where: string): string {
	const token = text.trim();
	if (token === '') {
		throw new XiError('TOKEN_INVALID', `Token refused: ${where} is empty.`);
	}

	return token;
}
