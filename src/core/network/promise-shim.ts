// libp2p 3 and its dependencies call Promise.withResolvers, which Node 20 lacks. Imported first
// by the network module so that core users (tests, benchmarks) get it too; merod's entry
// installs the same before anything else.
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }
const P = Promise as unknown as { withResolvers?: WithResolvers }
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
export {}
