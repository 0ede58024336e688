#!/usr/bin/env node
import { execute } from '@oclif/core'
import { globalFlagsAfterCommand } from '../dist/client/argv.js'

await execute({ dir: import.meta.url, args: globalFlagsAfterCommand(process.argv.slice(2)) })
