import { instrumentModule } from '../core/runtime/index.js'

/**
 * The child process of instrumenter.ts: reads `<max memory pages, u32 LE><module bytes>` from
 * stdin, instruments the module, writes one JSON answer to stdout and exits.
 */
const chunks: Buffer[] = []
process.stdin.on('data', (c: Buffer) => chunks.push(c))
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks)
  const answer = (a: unknown) => process.stdout.write(JSON.stringify(a), () => process.exit(0))
  instrumentModule(input.subarray(4), input.readUInt32LE(0)).then(
    (r) => answer({ result: { ...r, bytes: Buffer.from(r.bytes).toString('base64') } }),
    (e: unknown) => answer({ error: { kind: (e as { kind?: string }).kind, message: (e as Error).message ?? String(e) } }),
  )
})
