export * from './errors.js'
export * from './encoding.js'
export * from './hash.js'
export * from './ids.js'
