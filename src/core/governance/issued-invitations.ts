import type { Store } from '../store/store.js'

/** The invitations this node issued (for `invitation list` and revoking by id). Node-local. */
export interface IssuedInvitation {
  invitationId: string
  groupId: string
  role: string
  expiresAt: number
  createdAt: number
  token: string
}

export class IssuedInvitations {
  constructor(private readonly store: Store) {}

  add(inv: IssuedInvitation): void {
    this.store.put('invitation', Buffer.from(inv.invitationId, 'hex'), Buffer.from(JSON.stringify(inv)))
  }

  get(invitationId: string): IssuedInvitation | undefined {
    const v = this.store.get('invitation', Buffer.from(invitationId, 'hex'))
    return v ? (JSON.parse(v.toString('utf8')) as IssuedInvitation) : undefined
  }

  list(): IssuedInvitation[] {
    return this.store
      .scan('invitation')
      .map(([, v]) => JSON.parse(v.toString('utf8')) as IssuedInvitation)
      .sort((a, b) => a.createdAt - b.createdAt)
  }
}
