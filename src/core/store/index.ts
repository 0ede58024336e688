export * from './columns.js'
export * from './store.js'
