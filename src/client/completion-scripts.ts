/** The completion scripts `meroctl autocomplete` prints, calling `node completion-main.js`. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

export function completionScript(shell: Shell, node: string, main: string): string {
  const run = `${q(node)} ${q(main)}`
  switch (shell) {
    case 'bash':
      return `# meroctl completion for bash: eval "$(meroctl autocomplete bash)", e.g. in ~/.bashrc
_meroctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n' out
  out=$(${run} "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null) || return 0
  if [[ "$out" == "__files__" ]]; then COMPREPLY=($(compgen -f -- "$cur")); return 0; fi
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
}
complete -o default -F _meroctl meroctl
`
    case 'zsh':
      return `#compdef meroctl
# meroctl completion for zsh: eval "$(meroctl autocomplete zsh)", e.g. in ~/.zshrc (after compinit)
_meroctl() {
  local -a out
  out=("\${(@f)$(${run} $((CURRENT - 1)) "\${words[@]}" 2>/dev/null)}")
  if [[ "\${out[1]}" == "__files__" ]]; then _files; return; fi
  compadd -- \${out:#}
}
compdef _meroctl meroctl
`
    case 'fish':
      return `# meroctl completion for fish: meroctl autocomplete fish > ~/.config/fish/completions/meroctl.fish
function __meroctl_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (${run} (math (count $words) - 1) $words 2>/dev/null)
    if test "$out" = "__files__"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c meroctl -f -a '(__meroctl_complete)'
`
  }
}
