import { expect, test } from 'vitest'
import { eachSeed } from './support.ts'

test('smoke: elect and agree', async () => {
  await eachSeed({}, async (c) => {
    const leader = await c.waitForLeader()
    expect(c.nodes).toContain(leader)
    await c.one('a')
    await c.one('b')
  }, 5)
})
