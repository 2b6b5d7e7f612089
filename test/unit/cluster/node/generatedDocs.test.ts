/** The published JSON Schema and the generated tables of docs/operations.md match the code (`npm run docs:generate`). */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { configFileJsonSchema, SETTING_KEYS } from '../../../../cluster/node/index.ts'
import { OPERATIONS_DOC, operationsText, SCHEMA_FILE, schemaText } from '../../../../scripts/operatorDocs.ts'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const STALE = 'stale: run `npm run docs:generate` and commit the result'

describe('generated operator docs', () => {
  it(`${SCHEMA_FILE} is current`, () => {
    expect(read(SCHEMA_FILE), STALE).toBe(schemaText())
  })

  it(`${OPERATIONS_DOC} lists every setting and every metric as the code has them`, async () => {
    const current = read(OPERATIONS_DOC)
    expect(current, STALE).toBe(await operationsText(current))
    for (const key of SETTING_KEYS) expect(current).toContain(`| \`${key}\` |`)
    expect(current).toContain('| `troupe_ask_duration_seconds` | histogram |')
  })

  it('the JSON Schema accepts the example config file and refuses unknown keys and bad values', () => {
    const schema = z.fromJSONSchema(configFileJsonSchema() as never)
    expect(schema.safeParse(JSON.parse(read('examples/bank/node.config.json'))).success).toBe(true)
    expect(schema.safeParse({ heartbeatMs: 0 }).success).toBe(false)
    expect(schema.safeParse({ shrads: 2 }).success).toBe(false)
    expect(schema.safeParse({ logLevel: 'loud' }).success).toBe(false)
  })
})
