declare module '@nxtedition/rocksdb' {
  export class RocksLevel<K = Buffer, V = Buffer> {
    constructor(location: string, options?: { keyEncoding?: string; valueEncoding?: string })
    open(options?: object): Promise<void>
    close(): Promise<void>
    batch(): unknown
    iterator(options?: object): AsyncIterable<[K, V]>
    readonly status: string
  }
}
