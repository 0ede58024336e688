// libp2p 3 and its dependencies call Promise.withResolvers, which Node 20 lacks. Imported first
// by the network modules so that every core user (tests, benchmarks) gets it; merod's entry
// installs the same before anything else. Installed only when missing.
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
