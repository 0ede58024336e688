// A group of running daemons with the kv-store installed on each: the first creates the group,
// the others join it as admins by invitation.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** `daemons`: as startMerod returns them (the first creates the group); resolves with the group and application ids. */
export async function groupWithApp(home, daemons) {
  const [first, ...others] = daemons
  const { groupId } = await first.rpc.call('group.create', {})
  for (const d of others) {
    const { token } = await first.rpc.call('group.createInvitation', { group: groupId, role: 'admin' })
    await d.rpc.call('group.join', { token })
  }
  const wasm = `${root}/apps/kv-store/build/kv-store.wasm`
  let applicationId
  for (const d of daemons) {
    const r = spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', wasm, '--home', home, '--node', d.node, '--json'], { encoding: 'utf8' })
    applicationId = JSON.parse(r.stdout).applicationId
  }
  return { groupId, applicationId }
}
