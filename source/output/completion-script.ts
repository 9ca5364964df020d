/**
 * Shell completion scripts for bash and zsh, written from the command table: subcommands, each
 * command's flags, files or directories where a flag takes one, and what only the home knows —
 * agent names, tags and script names — asked at completion time from `PROGRAM completion --list
 * KIND [--home DIR]` (reads local files only, never dials an agent). Pure.
 *
 * The bash script reads the line itself (COMP_LINE up to the cursor, split on white space) rather
 * than COMP_WORDS, which bash splits at `=` and `:` too (COMP_WORDBREAKS): `--on env=pr<TAB>` then
 * completes the whole `env=production`, and the answer is cut back to what bash replaces.
 */

export type CompletionCommand = {
	name: string;
	summary: string;
	/** Words that may follow the command's name: `show` for runs, `verify` for audit. */
	subcommands: string[];
	/** Flags as typed (`--dry-run`), with the kind of value they take. */
	flags: CompletionFlag[];
	/** What its first word after the name (and subcommand) is. */
	positional?: ListKind;
};

export type CompletionFlag = {flag: string; value?: ValueKind};
export type ListKind = 'agents' | 'selectors' | 'scripts' | 'runs';
export type ValueKind = ListKind | 'file' | 'directory' | 'other';
export type CompletionSpec = {program: string; commands: CompletionCommand[]; globalFlags: CompletionFlag[]};

export const listKinds: readonly ListKind[] = ['agents', 'selectors', 'scripts', 'runs'];

/** What a flag's value is, from its name: the grammar of `--on`, an agent, a path... */
export function valueKindOf(flag: string, takesValue: boolean): ValueKind | undefined {
	if (!takesValue) {
		return undefined;
	}

	const kinds: Record<string, ValueKind> = {
		'--on': 'selectors', '--exclude': 'selectors', '--agent': 'agents', '--rerun': 'runs', '--request': 'runs',
		'--home': 'directory', '--outdir': 'directory',
		'--token-file': 'file', '--schema': 'file', '--cert': 'file', '--key': 'file', '--cross': 'file', '--policy': 'file',
	};
	return kinds[flag] ?? 'other';
}

const functionName = (program: string) => `_${program.replaceAll(/[^A-Za-z0-9]/g, '_')}`;
const words = (list: readonly string[]) => list.join(' ');

export function bashCompletion(spec: CompletionSpec): string {
	const name = functionName(spec.program);
	const valueFlags = (kind: ValueKind) => [...spec.globalFlags, ...spec.commands.flatMap(command => command.flags)]
		.filter(flag => flag.value === kind).map(flag => flag.flag);
	const unique = (list: string[]) => [...new Set(list)].sort();
	const pattern = (list: string[]) => (list.length === 0 ? '--never--' : unique(list).join('|'));
	const globals = words(spec.globalFlags.map(flag => flag.flag));
	const cases = spec.commands.map(command => {
		const flags = words([...command.flags.map(flag => flag.flag), ...spec.globalFlags.map(flag => flag.flag)]);
		const positional = command.subcommands.length > 0
			? `[[ -z $sub ]] && candidates="${words(command.subcommands)}"${command.positional ? `; [[ -n $sub ]] && candidates=$(${name}_list ${command.positional})` : ''}`
			: command.positional ? `candidates=$(${name}_list ${command.positional})` : 'candidates=""';
		return `\t\t${command.name}) if [[ $cur == -* ]]; then candidates="${flags}"; else ${positional}; fi ;;`;
	});
	return `# bash completion for ${spec.program}: add to ~/.bashrc
#   source <(${spec.program} completion bash)
${name}_list() {
	command "${'$'}{_xi_program:-${spec.program}}" completion --list "$1" "${'$'}{_xi_home[@]}" 2>/dev/null
}

${name}() {
	local line="${'$'}{COMP_LINE:0:COMP_POINT}"
	local -a typed
	read -r -a typed <<< "$line"
	[[ $line =~ [[:space:]]$ || ${'$'}{#typed[@]} -eq 0 ]] && typed+=("")
	local cur="${'$'}{typed[${'$'}{#typed[@]}-1]}" prev="" command="" sub="" word skip=""
	(( ${'$'}{#typed[@]} > 1 )) && prev="${'$'}{typed[${'$'}{#typed[@]}-2]}"
	local _xi_program="${'$'}{typed[0]}"
	local -a _xi_home=()
	local i
	for (( i = 1; i < ${'$'}{#typed[@]} - 1; i++ )); do
		word="${'$'}{typed[i]}"
		if [[ -n $skip ]]; then
			[[ $skip == --home ]] && _xi_home=(--home "$word")
			skip=""
			continue
		fi

		case "$word" in
			--) command="--"; break ;;
			${pattern([...valueFlags('selectors'), ...valueFlags('agents'), ...valueFlags('runs'), ...valueFlags('directory'), ...valueFlags('file'), ...valueFlags('other')])}) skip="$word" ;;
			-*) ;;
			*) if [[ -z $command ]]; then command="$word"; elif [[ -z $sub ]]; then sub="$word"; fi ;;
		esac
	done

	[[ $command == "--" ]] && return 0
	local candidates=""
	case "$prev" in
		${pattern(valueFlags('selectors'))}) candidates=$(${name}_list selectors) ;;
		${pattern(valueFlags('agents'))}) candidates=$(${name}_list agents) ;;
		${pattern(valueFlags('runs'))}) candidates=$(${name}_list runs) ;;
		${pattern(valueFlags('directory'))}) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
		${pattern(valueFlags('file'))}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		${pattern(valueFlags('other'))}) return 0 ;;
		*)
			case "$command" in
				"") if [[ $cur == -* ]]; then candidates="${globals}"; else candidates="${words(spec.commands.map(command => command.name))}"; fi ;;
${cases.join('\n')}
			esac
			;;
	esac

	COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
	# bash replaces only what follows the last = or : of the word (COMP_WORDBREAKS): answer that part.
	if [[ $cur == *[=:]* ]]; then
		local before="${'$'}{cur%"${'$'}{cur##*[=:]}"}"
		COMPREPLY=("${'$'}{COMPREPLY[@]#"$before"}")
	fi
}

complete -F ${name} ${spec.program}
`;
}

export function zshCompletion(spec: CompletionSpec): string {
	const name = functionName(spec.program);
	const quote = (text: string) => `'${text.replaceAll('\'', '\'\\\'\'')}'`;
	const commandList = spec.commands.map(command => quote(`${command.name}:${command.summary.replaceAll(':', '\\:')}`)).join(' ');
	const valueCase = (kind: ValueKind, action: string) => {
		const flags = [...new Set([...spec.globalFlags, ...spec.commands.flatMap(command => command.flags)].filter(flag => flag.value === kind).map(flag => flag.flag))];
		return flags.length === 0 ? '' : `\t\t${flags.join('|')}) ${action}; return ;;\n`;
	};

	const cases = spec.commands.map(command => {
		const flags = [...command.flags, ...spec.globalFlags].map(flag => flag.flag).join(' ');
		const positional = command.subcommands.length > 0
			? `if (( CURRENT == at + 1 )); then compadd -- ${command.subcommands.join(' ')}; ${command.positional ? `else compadd -- $(${name}_list ${command.positional}); ` : ''}fi`
			: command.positional ? `compadd -- $(${name}_list ${command.positional})` : ':';
		return `\t\t${command.name}) if [[ $PREFIX == -* ]]; then compadd -- ${flags}; else ${positional}; fi ;;`;
	});
	return `#compdef ${spec.program}
# zsh completion for ${spec.program}: add to ~/.zshrc, after compinit
#   source <(${spec.program} completion zsh)
${name}_list() {
	local -a home
	local i
	for (( i = 2; i < CURRENT; i++ )); do
		[[ $words[i] == --home ]] && home=(--home "$words[i+1]")
	done
	command "$words[1]" completion --list "$1" "$home[@]" 2>/dev/null
}

${name}() {
	local -a commands
	commands=(${commandList})
	case "$words[CURRENT-1]" in
${valueCase('selectors', `compadd -Q -- $(${name}_list selectors)`)}${valueCase('agents', `compadd -- $(${name}_list agents)`)}${valueCase('runs', `compadd -- $(${name}_list runs)`)}${valueCase('directory', '_files -/')}${valueCase('file', '_files')}${valueCase('other', ':')}	esac
	# The command is the first word after the global flags (and --home's value).
	local -i at=2
	while (( at < CURRENT )) && [[ $words[at] == -* ]]; do
		[[ $words[at] == --home ]] && (( at++ ))
		(( at++ ))
	done
	if (( CURRENT == at )); then
		if [[ $PREFIX == -* ]]; then compadd -- ${spec.globalFlags.map(flag => flag.flag).join(' ')}; else _describe 'command' commands; fi
		return
	fi

	case "$words[at]" in
${cases.join('\n')}
	esac
}

compdef ${name} ${spec.program}
`;
}
