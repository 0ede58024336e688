/**
 * Typed errors with stable kinds. Every error that crosses a boundary (RPC, CLI, wire) is a
 * MeroError; its `kind` is stable and machine-readable, its message says what was wrong and,
 * where it helps, how to fix it. RPC maps each kind to a JSON-RPC application code (>= 1000).
 */
export const ERROR_KINDS = {
  // generic
  InvalidInput: 1000,
  NotFound: 1001,
  AlreadyExists: 1002,
  Conflict: 1003,
  Internal: 1004,
  Unavailable: 1005,
  Timeout: 1006,
  LimitExceeded: 1007,
  // the command line (meroctl's own errors, before or without the daemon)
  UsageError: 1008,
  CommandNotFound: 1009,
  Cancelled: 1010,
  Failed: 1011,
  ConfirmationRequired: 1012,
  // node and daemon
  DaemonNotRunning: 1100,
  DaemonStartFailed: 1101,
  NodeNotInitialized: 1102,
  NodeAlreadyInitialized: 1103,
  InsecurePermissions: 1104,
  AlreadyRunning: 1105,
  ConfigInvalid: 1106,
  // the node's store
  StoreCorrupted: 1107,
  StoreIoError: 1108,
  StoreFileMissing: 1109,
  StoreVersionUnsupported: 1110,
  StoreKeyMissing: 1111,
  StoreKeyWrong: 1112,
  // governance
  GroupNotFound: 1200,
  NotAuthorized: 1201,
  InvalidSignature: 1202,
  InvalidOp: 1203,
  GroupDeleted: 1204,
  MemberNotFound: 1205,
  InvitationInvalid: 1210,
  InvitationExpired: 1211,
  InvitationRevoked: 1212,
  // contexts, applications, runtime
  ContextNotFound: 1300,
  ApplicationNotFound: 1301,
  InvalidModule: 1302,
  ExecutionFailed: 1303,
  MethodNotFound: 1304,
  ApplicationInUse: 1305,
  BlobNotFound: 1306,
  AliasNotFound: 1307,
  BlobContentMissing: 1308,
  InvalidPackage: 1309,
  // network and sync
  PeerUnreachable: 1400,
  SyncFailed: 1401,
} as const

export type ErrorKind = keyof typeof ERROR_KINDS

export class MeroError extends Error {
  readonly kind: ErrorKind
  readonly details?: Record<string, unknown>

  constructor(kind: ErrorKind, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'MeroError'
    this.kind = kind
    this.details = details
  }

  get code(): number {
    return ERROR_KINDS[this.kind]
  }
}

export function isMeroError(e: unknown, kind?: ErrorKind): e is MeroError {
  return e instanceof MeroError && (kind === undefined || e.kind === kind)
}

export function kindOfCode(code: number): ErrorKind | undefined {
  for (const [kind, c] of Object.entries(ERROR_KINDS)) if (c === code) return kind as ErrorKind
  return undefined
}
