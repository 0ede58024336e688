import type { InstrumentedStore } from '../runtime/instrumented-cache.js'
import type { Store } from '../store/store.js'

/** The runtime's instrumented modules in the node's store (column 'instrumented'). */
export function instrumentedStore(store: Store): InstrumentedStore {
  return {
    get: (key) => store.get('instrumented', key),
    put: (key, record) => {
      const batch = store.batch()
      for (const [k] of store.scanPrefix('instrumented', key.subarray(0, 32))) if (!k.equals(key)) batch.del('instrumented', k)
      batch.put('instrumented', key, record).write()
    },
    deleteApplication: (applicationId) => void store.deletePrefix('instrumented', applicationId),
  }
}
