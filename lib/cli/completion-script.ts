// The bash completion script, made from the command specs that print --help: command names,
// each command's options, the values of options that take a fixed list (--format), and files
// everywhere else (readline's own completion, through `complete -o default`).
import type { CommandSpec } from './args.js';

/** Every way of spelling the spec's options: --long, and -x where there is a short one. */
export function optionWords(spec: CommandSpec): string[] {
  return Object.entries(spec.options).flatMap(([name, option]) => [`--${name}`, ...(option.short ? [`-${option.short}`] : [])]);
}

const words = (list: readonly string[]): string => `'${list.join(' ')}'`;

/** The script for /usr/share/bash-completion/completions/savekit (`savekit completion bash`). */
export function formatBashCompletion(specs: readonly CommandSpec[]): string {
  const optionCases = specs.map((spec) => `        ${spec.name}) options=${words(optionWords(spec))} ;;`);
  const valueCases = specs.flatMap((spec) =>
    Object.entries(spec.choices ?? {}).map(([option, values]) => `        '${spec.name} --${option}') values=${words(values)} ;;`),
  );
  const positionalCases = specs
    .filter((spec) => spec.positionalChoices)
    .map((spec) => `        ${spec.name}) (( COMP_CWORD == 2 )) && values=${words(spec.positionalChoices!)} ;;`);
  return `# bash completion for savekit(1). Made by 'savekit completion bash' from the command specs
# that print --help; do not edit.
_savekit()
{
    local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
    if (( COMP_CWORD == 1 )); then
        COMPREPLY=( $(compgen -W ${words([...specs.map((spec) => spec.name), '--help', '--version'])} -- "$cur") )
        return
    fi
    local options= values=
    case \${COMP_WORDS[1]} in
${optionCases.join('\n')}
    esac
    case "\${COMP_WORDS[1]} $prev" in
${valueCases.join('\n')}
    esac
    if [[ -z $values && $cur != -* ]]; then
        case \${COMP_WORDS[1]} in
${positionalCases.join('\n')}
        esac
    fi
    if [[ -n $values ]]; then
        COMPREPLY=( $(compgen -W "$values" -- "$cur") )
    elif [[ $cur == -* ]]; then
        COMPREPLY=( $(compgen -W "$options" -- "$cur") )
    else
        COMPREPLY=() # a path: readline completes it (complete -o default)
    fi
}
complete -o default -F _savekit savekit
`;
}
