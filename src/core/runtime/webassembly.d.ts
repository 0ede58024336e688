// The parts of the WebAssembly JS API the runtime uses. TypeScript declares WebAssembly only in
// lib.dom, which a Node project does not load, and @types/node 20 does not declare it either.
declare namespace WebAssembly {
  type ImportValue = Function | Global | Memory | Table | number | bigint
  type Imports = Record<string, Record<string, ImportValue>>
  type ExportValue = Function | Global | Memory | Table

  interface ModuleImportDescriptor { module: string; name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
  interface ModuleExportDescriptor { name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }

  class Module {
    constructor(bytes: BufferSource)
    static imports(module: Module): ModuleImportDescriptor[]
    static exports(module: Module): ModuleExportDescriptor[]
    static customSections(module: Module, name: string): ArrayBuffer[]
  }
  class Instance {
    constructor(module: Module, imports?: Imports)
    readonly exports: Record<string, ExportValue>
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean })
    readonly buffer: ArrayBuffer
    grow(delta: number): number
  }
  class Table {
    constructor(descriptor: { element: 'anyfunc' | 'externref'; initial: number; maximum?: number })
    readonly length: number
  }
  class Global<T extends number | bigint = number | bigint> {
    constructor(descriptor: { value: 'i32' | 'i64' | 'f32' | 'f64'; mutable?: boolean }, value?: T)
    value: T
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}

  type BufferSource = ArrayBufferView | ArrayBuffer
  function validate(bytes: BufferSource): boolean
  function compile(bytes: BufferSource): Promise<Module>
}
