/** Writes node.config.schema.json and the generated tables of docs/operations.md (`npm run docs:generate`). */
import { readFileSync, writeFileSync } from 'node:fs'
import { OPERATIONS_DOC, operationsText, SCHEMA_FILE, schemaText } from './operatorDocs.ts'

writeFileSync(SCHEMA_FILE, schemaText())
writeFileSync(OPERATIONS_DOC, await operationsText(readFileSync(OPERATIONS_DOC, 'utf8')))
console.log(`wrote ${SCHEMA_FILE} and ${OPERATIONS_DOC}`)
