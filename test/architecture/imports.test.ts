import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The direction of dependencies (docs/architecture.md): a module imports only from its own layer
 * and from the layers the table there says it may. The table is read from the document itself,
 * so that what it says and what this checks cannot drift apart.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

interface Rules {
  runtime: Map<string, Set<string>>
  types: Map<string, Set<string>>
}

interface Import {
  from: string
  /** A path under src/ (relative imports), or a package name. */
  to: string
  pkg: boolean
  typeOnly: boolean
}

/** Packages a layer must not import (it would load them into a process that must stay without them). */
const FORBIDDEN_PACKAGES: [prefix: string, packages: RegExp][] = [
  ['core/', /^(@oclif\/|ink$|react$|node:http$|undici$)/],
  ['client', /^(libp2p$|@libp2p\/|@chainsafe\/|@nxtedition\/rocksdb$)/],
  ['commands', /^(libp2p$|@libp2p\/|@chainsafe\/|@nxtedition\/rocksdb$)/],
]

export function readRules(markdown: string): Rules {
  const rules: Rules = { runtime: new Map(), types: new Map() }
  // the rows of the table `| layer | may import |`: a layer is a folder of src/ or of src/core/
  const rows = markdown.split('\n').filter((l) => /^\| [a-z]+(\/[a-z]+)? \|/.test(l) && !l.startsWith('| layer |'))
  for (const row of rows) {
    const [layer, allowed] = row.split('|').slice(1, 3).map((c) => c.trim()) as [string, string]
    const [runtime, types] = allowed.split(';').map((part) => part.trim())
    const list = (s: string | undefined) => new Set((s ?? '').replace(/^types:\s*/, '').split(',').map((x) => x.trim()).filter((x) => x && x !== 'nothing'))
    rules.runtime.set(layer, list(runtime))
    rules.types.set(layer, new Set([...list(runtime), ...list(types)]))
  }
  return rules
}

/** The layer of a path under src/: `core/<folder>`, or the top folder. */
export function layerOf(path: string): string {
  const parts = path.split('/')
  return parts[0] === 'core' ? `core/${parts[1]}` : parts[0]!
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

/** Every import of a module: relative ones resolved to a path under src/, packages as named. */
export function importsOf(file: string, text: string): Import[] {
  const from = relative(src, file)
  const found: Import[] = []
  const add = (spec: string, typeOnly: boolean) => {
    const pkg = !spec.startsWith('.')
    found.push({ from, to: pkg ? spec : relative(src, resolve(dirname(file), spec)), pkg, typeOnly })
  }
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?([^'"`;]*?)\s+from\s+['"]([^'"]+)['"]/gm)) {
    const named = m[2] ?? ''
    const allTypes = /^\{[^}]*\}$/.test(named.trim()) && named.replace(/[{}]/g, '').split(',').every((n) => !n.trim() || /^type\s/.test(n.trim()))
    add(m[3]!, Boolean(m[1]) || allTypes)
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) add(m[1]!, false)
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, false)
  return found
}

/** The imports that break the rules, as readable lines. */
export function violations(imports: Import[], rules: Rules): string[] {
  const out: string[] = []
  for (const i of imports) {
    const layer = layerOf(i.from)
    if (i.pkg) {
      for (const [prefix, packages] of FORBIDDEN_PACKAGES) {
        if (layer.startsWith(prefix) && packages.test(i.to) && !i.typeOnly) out.push(`${i.from} imports the package ${i.to}, which ${layer} must not load`)
      }
      continue
    }
    if (i.to.startsWith('..')) {
      out.push(`${i.from} imports ${i.to}, outside src/`)
      continue
    }
    const target = layerOf(i.to)
    if (target === layer || target === 'types') continue
    const allowed = (i.typeOnly ? rules.types : rules.runtime).get(layer)
    if (!allowed) out.push(`${i.from}: its layer ${layer} is not in the table of docs/architecture.md`)
    else if (!allowed.has(target)) out.push(`${i.from} imports ${i.to}: ${layer} may not import ${target}${i.typeOnly ? ' (even types)' : ''}`)
  }
  return out
}

/** A cycle among the allowed directions, if any (the table must be an order). */
export function cycle(rules: Rules): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const visit = (layer: string, path: string[]): string[] | undefined => {
    if (state.get(layer) === 'done') return undefined
    if (state.get(layer) === 'open') return [...path, layer]
    state.set(layer, 'open')
    for (const next of rules.types.get(layer) ?? []) {
      const c = visit(next, [...path, layer])
      if (c) return c
    }
    state.set(layer, 'done')
    return undefined
  }
  for (const layer of rules.types.keys()) {
    const c = visit(layer, [])
    if (c) return c
  }
  return undefined
}

const rules = readRules(readFileSync(join(root, 'docs/architecture.md'), 'utf8'))

describe('the direction of dependencies (docs/architecture.md)', () => {
  it('the table names every layer of src/, and its directions form no cycle', () => {
    const layers = new Set(sourceFiles(src).map((f) => layerOf(relative(src, f))))
    expect([...layers].filter((l) => !rules.runtime.has(l)).sort()).toEqual([])
    expect(cycle(rules)).toBeUndefined()
  })

  it('no import in src/ points up a layer or sideways where the table does not allow it', () => {
    const imports = sourceFiles(src).flatMap((f) => importsOf(f, readFileSync(f, 'utf8')))
    expect(imports.length).toBeGreaterThan(500)
    expect(violations(imports, rules)).toEqual([])
  })

  it('the check catches an upward import, a sideways one, a forbidden package and a cycle', () => {
    const file = (path: string, text: string) => importsOf(join(src, path), text)
    const planted = [
      ...file('core/governance/x.ts', "import { MeroNode } from '../node/node.js'"),
      ...file('core/context/x.ts', "import type {\n  TopicMessage,\n} from '../sync/wire.js'"),
      ...file('core/state/x.ts', "import { GroupStore } from '../governance/group-store.js'"),
      ...file('core/store/x.ts', "export { x } from '../../daemon/daemon.js'"),
      ...file('core/node/x.ts', "const m = await import('../../client/rpc-client.js')"),
      ...file('commands/x.ts', "import { createLibp2p } from 'libp2p'"),
      ...file('core/sync/x.ts', "import { Command } from '@oclif/core'"),
    ]
    expect(violations(planted, rules)).toHaveLength(7)
    // and what is allowed stays allowed: a type from core in the client, a lower layer, a package
    const fine = [
      ...file('client/x.ts', "import type { NodeEvent } from '../core/node/events.js'"),
      ...file('core/sync/x.ts', "import { type SignedDeltaWire, verifyDelta } from '../context/delta-envelope.js'"),
      ...file('core/network/x.ts', "import './shim.js'\nimport { gossipsub } from '@libp2p/gossipsub'"),
    ]
    expect(violations(fine, rules)).toEqual([])
    const looped = readRules('| core/primitives | core/dag |\n| core/dag | core/primitives |')
    expect(cycle(looped)).toEqual(['core/primitives', 'core/dag', 'core/primitives'])
  })
})
