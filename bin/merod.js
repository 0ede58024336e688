#!/usr/bin/env node
// libp2p 3 and its dependencies call Promise.withResolvers, which Node 20 lacks.
Promise.withResolvers ??= function withResolvers() {
  let resolve, reject
  const promise = new this((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}
const { main } = await import('../dist/daemon/main.js')
// Exit explicitly: native handles (RocksDB, libp2p sockets) may keep the loop alive briefly.
process.exit(await main(process.argv.slice(2)))
