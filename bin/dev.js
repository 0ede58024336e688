#!/usr/bin/env -S node --import tsx --no-warnings
// Runs meroctl from src/ (TypeScript) for development: `./bin/dev.js node status`.
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
