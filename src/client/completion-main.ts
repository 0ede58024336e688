// The completion entry the shells' scripts run (`meroctl autocomplete`): node completion-main.js CWORD WORDS...
import { complete } from './completion.js'

const [cword, ...words] = process.argv.slice(2)
const out = await complete(words, Number(cword)).catch(() => [])
process.stdout.write(out.length ? `${out.join('\n')}\n` : '')
