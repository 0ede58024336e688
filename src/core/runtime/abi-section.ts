import { z } from 'zod'
import { MeroError } from '../primitives/errors.js'
import { customSection } from './wasm-binary.js'

/**
 * The optional ABI custom section: UTF-8 JSON naming the methods (their parameters and whether
 * they are read-only views) and the events. scripts/build-apps.mjs embeds it from an app's abi.json.
 */
export const ABI_SECTION = 'mero_abi_v1'

const methodName = z.string().regex(/^[A-Za-z0-9_]{1,256}$/, 'a method name is 1-256 characters of [A-Za-z0-9_]')

export const AbiSchema = z.looseObject({
  methods: z
    .array(
      z.looseObject({
        name: methodName,
        params: z.array(z.unknown()).optional(),
        readOnly: z.boolean().optional(),
        /** Other contexts of the group may call it (xcall). */
        xcall: z.boolean().optional(),
      }),
    )
    .max(10_000),
  events: z.array(z.unknown()).max(10_000).optional(),
  /** The version of the state layout the application keeps [1]. */
  stateVersion: z.number().int().min(1).max(1_000_000).optional(),
  /** How it migrates a context's state from an earlier layout version: a method run once, when a context moves to it. */
  migrations: z.array(z.looseObject({ from: z.number().int().min(1), method: methodName })).max(64).optional(),
})

export type ModuleAbi = z.infer<typeof AbiSchema>

export function readAbiSection(bytes: Uint8Array): ModuleAbi | undefined {
  const payload = customSection(bytes, ABI_SECTION)
  if (!payload) return undefined
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
  } catch (e) {
    throw new MeroError('InvalidModule', `the '${ABI_SECTION}' custom section is not valid UTF-8 JSON: ${(e as Error).message}`)
  }
  const parsed = AbiSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new MeroError('InvalidModule', `the '${ABI_SECTION}' custom section is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  const seen = new Set<string>()
  for (const m of parsed.data.methods) {
    if (seen.has(m.name)) throw new MeroError('InvalidModule', `the '${ABI_SECTION}' custom section declares method '${m.name}' twice`)
    seen.add(m.name)
  }
  const version = parsed.data.stateVersion ?? 1
  for (const m of parsed.data.migrations ?? []) {
    if (!seen.has(m.method)) throw new MeroError('InvalidModule', `the '${ABI_SECTION}' custom section names migration method '${m.method}', which it does not declare among its methods`)
    if (m.from >= version) throw new MeroError('InvalidModule', `the '${ABI_SECTION}' custom section declares a migration from state version ${m.from}, not older than its stateVersion ${version}`)
  }
  return parsed.data
}
