import { describe, expect, it } from 'vitest'
import { globalFlagsAfterCommand } from '../../src/client/argv.js'

describe('global flags before the command', () => {
  it('moves leading --home, --node (with a value, or as --flag=value) and the global switches behind the command', () => {
    expect(globalFlagsAfterCommand(['--home', '/h', '--node', 'a', 'group', 'list'])).toEqual(['group', 'list', '--home', '/h', '--node', 'a'])
    expect(globalFlagsAfterCommand(['--home=/h', '--json', 'call', 'ctx', 'get', '--args', '{}'])).toEqual(['call', 'ctx', 'get', '--args', '{}', '--home=/h', '--json'])
    expect(globalFlagsAfterCommand(['--no-start', 'node', 'status'])).toEqual(['node', 'status', '--no-start'])
  })

  it('keeps them before a `--`, after which everything is an argument', () => {
    expect(globalFlagsAfterCommand(['--node', 'b', 'alias', 'create', '--', '-odd-name', 'id'])).toEqual(['alias', 'create', '--node', 'b', '--', '-odd-name', 'id'])
  })

  it('leaves everything else as typed', () => {
    for (const argv of [
      ['group', 'list', '--home', '/h'], // already behind the command
      ['--help'],
      ['--home', '/h'], // no command
      ['--home'], // a flag without its value: oclif reports it
      ['--home', '/h', '--help'],
      ['--verbose', 'group', 'list'], // not a global flag
      [],
    ]) {
      expect(globalFlagsAfterCommand(argv)).toEqual(argv)
    }
  })
})
