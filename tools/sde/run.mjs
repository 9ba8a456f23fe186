// Runs a Vensim model with SDEverywhere for `hatinh-sd crosscheck --engine sdeverywhere`.
//
//   node tools/sde/run.mjs REQUEST.json [NODE_MODULES]
//
// REQUEST.json: {"mdl": path of the .mdl, "inputs": [constants set per run],
//   "outputs": [variables returned], "sets": [[a value per input] or null (the
//   model's own values), ...], "repeat": times each set is run (timing; default 1)}
// NODE_MODULES: the folder holding @sdeverywhere/compile and @sdeverywhere/runtime
//   (default: node_modules next to this script, where `npm ci` installs them).
//
// Generates the JS model with @sdeverywhere/compile's parseAndGenerate (the JS target,
// in memory; written to a temporary folder to be imported), runs every set with
// @sdeverywhere/runtime's synchronous runner, and writes one JSON object to stdout:
// {"compile": version, "runtime": version, "generate_seconds": s, "run_seconds": [s per
// set, the mean over its repeats], "time": [saved years], "outputs": [names],
// "runs": [[[values of each output at each saved year] per output] per set]}. Values
// that are not finite are written NaN, Infinity, -Infinity (as Python's json reads them).

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const [requestPath, modulesArg] = process.argv.slice(2)
if (!requestPath) {
  console.error('usage: node run.mjs REQUEST.json [NODE_MODULES]')
  process.exit(2)
}
const modules = path.resolve(modulesArg ?? path.join(here, 'node_modules'))
const packageFolder = name => path.join(modules, '@sdeverywhere', name)
const version = name => JSON.parse(fs.readFileSync(path.join(packageFolder(name), 'package.json'), 'utf8')).version

const compile = await import(pathToFileURL(path.join(packageFolder('compile'), 'src', 'index.js')).href)
const runtime = await import(pathToFileURL(path.join(packageFolder('runtime'), 'dist', 'index.js')).href)

const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'))
const mdlPath = path.resolve(request.mdl)
const inputs = request.inputs ?? []
const outputs = request.outputs ?? []
const repeat = Math.max(1, request.repeat ?? 1)

// Generate the JS model (the spec names the inputs set per run and the outputs stored).
const start = performance.now()
const spec = { inputVarNames: inputs, outputVarNames: outputs, bundleListing: false }
const code = await compile.parseAndGenerate(
  fs.readFileSync(mdlPath, 'utf8'),
  'vensim',
  spec,
  ['generateJS'],
  path.dirname(mdlPath),
  'model',
  os.tmpdir() // unused: writeOutput is not reached without a file operation below
)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hatinh-sde-'))
let generated
try {
  const file = path.join(tmp, 'model.mjs')
  fs.writeFileSync(file, code)
  generated = await (await import(pathToFileURL(file).href)).default()
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
const generateSeconds = (performance.now() - start) / 1000

const runner = runtime.createSynchronousModelRunner(generated)
const store = runner.createOutputs()
const runs = []
const runSeconds = []
for (const set of request.sets ?? [null]) {
  if (set !== null && set.length !== inputs.length) {
    throw new Error(`a set has ${set.length} values for ${inputs.length} inputs`)
  }
  const values = set ?? []
  const t0 = performance.now()
  for (let r = 0; r < repeat; r++) {
    runner.runModelSync(values, store)
  }
  runSeconds.push((performance.now() - t0) / 1000 / repeat)
  runs.push(store.varSeries.map(series => series.points.map(p => p.y)))
}
const time = store.varSeries.length > 0 ? store.varSeries[0].points.map(p => p.x) : []

const number = v => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity')
const numbers = list => `[${list.map(number).join(',')}]`
const parts = [
  `{"compile":${JSON.stringify(version('compile'))}`,
  `"runtime":${JSON.stringify(version('runtime'))}`,
  `"generate_seconds":${generateSeconds}`,
  `"run_seconds":${numbers(runSeconds)}`,
  `"time":${numbers(time)}`,
  `"outputs":${JSON.stringify(outputs.length > 0 ? outputs : generated.outputVarNames)}`,
  `"runs":[${runs.map(run => `[${run.map(numbers).join(',')}]`).join(',')}]}`
]
process.stdout.write(parts.join(',') + '\n')
