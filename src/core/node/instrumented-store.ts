import type { InstrumentedStore } from '../runtime/instrumented-cache.js'
import type { Store } from '../store/store.js'

/** The runtime's instrumented modules in the node's store (column 'instrumented'). */
export function instrumentedStore(store: Store): InstrumentedStore {
  return {
    get: (key) => store.get('instrumented', key),
    put: (key, record) => store.put('instrumented', key, record),
    deleteApplication: (applicationId) => void store.deletePrefix('instrumented', applicationId),
  }
}
