// Child process of the call floor benchmark (floors.bench.mjs): an HTTP server on a Unix socket
// that answers JSON-RPC posts with only the parts a `context.execute` that commits cannot do
// without, none of mero's own logic:
// - mode `http`: read the body, JSON.parse it, JSON.stringify a result and answer;
// - mode `call`: the same, plus a fresh instance of the instrumented kv-store module (with a
//   pooled, zeroed memory, as the runtime does; its method is not run), an Ed25519 signature of
//   the params and one RocksDB batch of 7 puts (a delta, its depth index and the entities a `set`
//   touches, roughly);
// - mode `exec`: `call`, with the method (`set`) run in that instance by mero's runtime (the
//   host ABI) over an in-memory map instead of the CRDT state: no entities, hashes or delta;
// - mode `run`: `exec` without the signature and the batch: what every call costs even if a
//   design committed many calls with one signature and one write.
// argv: socket path, data folder, mode. stdout: "ready" once listening.
import { readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, sign } from '../../dist/core/crypto/ed25519.js'
import { Runtime } from '../../dist/core/runtime/runtime.js'
import { validateModule } from '../../dist/core/runtime/validate.js'
import { Store } from '../../dist/core/store/store.js'

const [socketPath, dataDir, mode] = process.argv.slice(2)
if (!['http', 'call', 'exec', 'run'].includes(mode)) throw new Error(`call-floor-server: unknown mode ${mode}`)
const store = await Store.open(dataDir)
const wasm = readFileSync(fileURLToPath(new URL('../../apps/kv-store/build/kv-store.wasm', import.meta.url)))
const validated = await validateModule(wasm)
const module = await WebAssembly.compile(validated.instrumented)
const memory = new WebAssembly.Memory({ initial: validated.initialMemoryPages, maximum: validated.maxMemoryPages })
const imports = {}
for (const i of WebAssembly.Module.imports(module)) {
  imports[i.module] ??= {}
  if (i.kind === 'function') imports[i.module][i.name] = () => 0
  else if (i.kind === 'memory') imports[i.module][i.name] = memory
  else imports[i.module][i.name] = new WebAssembly.Global({ value: i.name === 'gas' ? 'i64' : 'i32', mutable: true }, i.name === 'gas' ? 0n : 0)
}
const identity = generateKeyPair()
let n = 0

/** The part of HostState kv-store's `set` uses, over a plain Map (latin1 keys). */
const map = new Map()
const mapState = {
  mapInsert(_name, key, value) {
    const k = Buffer.from(key).toString('latin1')
    const prev = map.get(k)
    map.set(k, Buffer.from(value))
    return prev
  },
  mapGet: (_name, key) => map.get(Buffer.from(key).toString('latin1')),
  rootHash: () => new Uint8Array(32),
}
const runtime = new Runtime()
const loaded = await runtime.load(wasm)
const contextId = Buffer.alloc(32, 1)

function commitFloor(params) {
  if (mode === 'exec' || mode === 'run') runtime.execute({ module: loaded, method: params.method, args: Buffer.from(JSON.stringify(params.args)), state: mapState, contextId, executor: identity.publicKey })
  else {
    new WebAssembly.Instance(module, imports)
    new Uint8Array(memory.buffer).fill(0)
  }
  if (mode === 'run') return 'not signed'
  const payload = Buffer.from(JSON.stringify(params))
  const signature = sign(identity.privateKey, payload)
  const batch = store.batch()
  const key = Buffer.alloc(64)
  key.writeUInt32BE(n++ % 500, 0)
  for (let j = 0; j < 7; j++) {
    key[63] = j
    batch.put('state', key, payload)
  }
  batch.write()
  return signature.toString('hex')
}

rmSync(socketPath, { force: true })
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const result = mode !== 'http' ? { result: null, events: [], rootHash: commitFloor(body.params) } : { ok: true }
    const text = JSON.stringify({ jsonrpc: '2.0', id: body.id, result })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  })
})
server.listen(socketPath, () => process.stdout.write('ready\n'))
const stop = () => {
  server.close(() => void store.close().then(() => process.exit(0)))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.stdin.on('close', stop) // never outlive the parent
process.stdin.resume()
