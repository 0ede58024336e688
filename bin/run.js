#!/usr/bin/env node
// oclif's index checks the Node version with semver (47 modules, a sixth of meroctl's start-up);
// package.json's engines field states the requirement already
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const { execute } = await import('@oclif/core')
const { globalFlagsAfterCommand } = await import('../dist/client/argv.js')

await execute({ dir: import.meta.url, args: globalFlagsAfterCommand(process.argv.slice(2)) })
