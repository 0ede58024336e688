// Child process of governance.bench.mjs: loads a node's groups from RocksDB and reports its RSS.
import { readFileSync } from 'node:fs'
import { GroupStore } from '../../dist/core/governance/group-store.js'
import { Store } from '../../dist/core/store/store.js'

const store = await Store.open(process.argv[2])
const groups = new GroupStore(store)
groups.start()
const ops = groups.groupIds().reduce((n, g) => n + groups.view(g).opCount, 0)
global.gc?.()
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024
process.stdout.write(JSON.stringify({ ops, rss }) + '\n')
await store.close()
