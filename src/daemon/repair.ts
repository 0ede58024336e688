import type { RepairReport } from '../api/node-files.js'
import { summariseLostWrites } from '../core/node/lost-writes.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../core/node/migrations.js'
import { applySchema } from '../core/store/schema.js'
import { Store } from '../core/store/store.js'
import type { NodeHome } from '../home/paths.js'
import { PidLock } from '../home/pid-file.js'
import { loadConfig } from './config.js'
import { checkFolderPermissions } from './daemon.js'
import { storeKeyOptions } from './store-key.js'
import { packageVersion } from './version.js'

/**
 * Recovers a node's store offline (its daemon must be stopped): RocksDB replays its write-ahead
 * logs up to the first damage (point in time) after they are copied aside, and the report says
 * what the replay could not recover. The node then catches up from its peers when it starts.
 */
export async function repairNode(home: NodeHome): Promise<RepairReport> {
  checkFolderPermissions(home.dir)
  const lock = new PidLock(home.pidFile)
  lock.acquire()
  try {
    const store = await Store.open(home.data, { wal: 'recover', ...storeKeyOptions(loadConfig(home.config), home.config) })
    try {
      const schema = applySchema(store, SCHEMA_VERSION, MIGRATIONS, packageVersion())
      const check = store.recovery?.check
      const problems = check?.problems.map((p) => p.message) ?? []
      const lost = check?.acknowledged !== undefined && check.acknowledged > check.recoverable ? Number(check.acknowledged - check.recoverable) : undefined
      return {
        node: home.node,
        data: home.data,
        sound: problems.length === 0,
        problems,
        ...(check?.acknowledged !== undefined ? { acknowledged: check.acknowledged.toString() } : {}),
        recovered: (check?.recoverable ?? store.sequence).toString(),
        ...(lost !== undefined ? { lostWrites: lost } : {}),
        ...(store.recovery?.savedTo ? { savedTo: store.recovery.savedTo } : {}),
        unreplayed: summariseLostWrites(problems.length ? (check?.unreplayed ?? []) : []),
        schema: { found: schema.found, version: schema.version, migrated: schema.migrated },
      }
    } finally {
      await store.close()
    }
  } finally {
    lock.release()
  }
}
