/**
 * meroctl's global flags may come before the command, as with git or kubectl
 * (`meroctl --home /tmp/h --node alice group list`). oclif only reads flags after the command
 * id, so those leading global flags are moved behind it; everything else is left as typed.
 */
const GLOBAL_WITH_VALUE = new Set(['--home', '--node'])
const GLOBAL_SWITCHES = new Set(['--json', '--start', '--no-start'])

export function globalFlagsAfterCommand(argv: readonly string[]): string[] {
  // `meroctl --version` / `-v` are the version command (which has --json)
  if (argv[0] === '--version' || argv[0] === '-v') return ['version', ...argv.slice(1)]
  const leading: string[] = []
  let i = 0
  while (i < argv.length) {
    const a = argv[i]!
    const name = a.split('=', 1)[0]!
    if (GLOBAL_WITH_VALUE.has(name)) {
      if (a.includes('=')) leading.push(a)
      else if (i + 1 < argv.length) leading.push(a, argv[++i]!)
      else return [...argv] // a flag missing its value: oclif says so
    } else if (GLOBAL_SWITCHES.has(a)) leading.push(a)
    else break
    i++
  }
  // nothing to move, or no command after the flags (oclif answers that as typed)
  if (leading.length === 0 || i === argv.length || argv[i]!.startsWith('-')) return [...argv]
  // oclif reads flags anywhere after the command id, but not after `--`
  const rest = argv.slice(i)
  const separator = rest.indexOf('--')
  return separator < 0 ? [...rest, ...leading] : [...rest.slice(0, separator), ...leading, ...rest.slice(separator)]
}
