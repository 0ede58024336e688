#!/usr/bin/env node
// Generates man pages from the oclif manifest, so `--help` and `man` come from the same
// command definitions: man/man1/meroctl.1 (every command) and man/man1/merod.1.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(`${root}/oclif.manifest.json`, 'utf8'))
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'))
const esc = (s = '') => String(s).replace(/\\/g, '\\e').replace(/^\./gm, '\\&.').replace(/-/g, '\\-')
const date = new Date().toISOString().slice(0, 10)

function flagLine(name, f) {
  const short = f.char ? `\\-${f.char}, ` : ''
  const value = f.type === 'option' ? ` ${(f.helpValue ?? name).toUpperCase()}` : ''
  const long = f.allowNo ? `\\-\\-[no\\-]${esc(name)}` : `\\-\\-${esc(name)}`
  return `.TP\n.B ${short}${long}${esc(value)}\n${esc(f.summary ?? f.description ?? '')}${f.default !== undefined && f.type === 'option' ? ` [default: ${esc(String(f.default))}]` : ''}${f.env ? ` (env ${f.env})` : ''}`
}

const commands = Object.values(manifest.commands).sort((a, b) => a.id.localeCompare(b.id))
let page = `.TH MEROCTL 1 "${date}" "mero ${pkg.version}" "mero manual"
.SH NAME
meroctl \\- manage a mero node: groups, contexts, applications, blobs and peers
.SH SYNOPSIS
.B meroctl
.I topic command
[\\fIargs\\fR] [\\fIflags\\fR]
.SH DESCRIPTION
meroctl talks to the local merod daemon over a Unix socket, and starts it when none answers.
Every command takes \\-\\-json and then prints one JSON document on stdout. Exit codes: 0 success, 1 failure, 2 usage error.
.SH GLOBAL FLAGS
`
const globals = commands.find((c) => c.flags?.home)?.flags ?? {}
for (const [name, f] of Object.entries(globals)) if (f.helpGroup === 'GLOBAL' || name === 'json') page += flagLine(name, f) + '\n'
page += '.SH COMMANDS\n'
for (const c of commands) {
  const args = Object.values(c.args ?? {}).map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(' ')
  page += `.SS ${esc(`${c.id.replaceAll(':', ' ')} ${args}`.trim())}\n${esc(c.summary ?? c.description ?? '')}\n`
  if (c.description && c.summary) page += `.PP\n${esc(c.description)}\n`
  for (const [name, f] of Object.entries(c.flags ?? {})) if (f.helpGroup !== 'GLOBAL' && name !== 'json') page += flagLine(name, f) + '\n'
  for (const ex of c.examples ?? []) page += `.PP\n.nf\n  ${esc(String(typeof ex === 'string' ? ex : ex.command).replace('<%= config.bin %>', 'meroctl'))}\n.fi\n`
}
page += `.SH FILES
.TP
.I $MERO_HOME/<node>/
config.toml, identity.key, data/ (RocksDB), blobs/, merod.sock, merod.pid, merod.log
.SH SEE ALSO
merod(1)
`
const merod = `.TH MEROD 1 "${date}" "mero ${pkg.version}" "mero manual"
.SH NAME
merod \\- the mero node daemon
.SH SYNOPSIS
.B merod
[\\-\\-home \\fIDIR\\fR] [\\-\\-node \\fINAME\\fR] \\fBinit\\fR [\\-\\-listen \\fIMULTIADDR\\fR]... [\\-\\-bootstrap \\fIMULTIADDR\\fR]... [\\-\\-force] [\\-\\-json]
.br
.B merod
[\\-\\-home \\fIDIR\\fR] [\\-\\-node \\fINAME\\fR] \\fBrun\\fR
.SH DESCRIPTION
merod hosts a full mero node: RocksDB storage, a libp2p node, groups, contexts, blobs and sync.
It serves JSON\\-RPC 2.0 at POST /rpc, server\\-sent events at GET /events and Prometheus metrics at GET /metrics on the Unix socket <home>/<node>/merod.sock (mode 0600).
It refuses to run when the node folder is writable by group or others, or when another merod holds the node.
SIGTERM or SIGINT stop it gracefully within 5 seconds.
.SH SEE ALSO
meroctl(1)
`
mkdirSync(`${root}/man/man1`, { recursive: true })
writeFileSync(`${root}/man/man1/meroctl.1`, page)
writeFileSync(`${root}/man/man1/merod.1`, merod)
