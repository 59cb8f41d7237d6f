// Runs the console's pure modules over golden cases: node run_cases.mjs <src dir> <case file>
// prints [{name, result} | {name, error}], each case's function called with its args.
import {readFileSync} from 'node:fs';
import {pathToFileURL} from 'node:url';
import path from 'node:path';

const [src, file] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(file, 'utf8'));
const [moduleName, functionName] = spec.function.split('.');
const module = await import(pathToFileURL(path.join(src, moduleName + '.js')).href);
const out = spec.cases.map((c) => {
  try {
    return {name: c.name, result: module[functionName](...c.args)};
  } catch (e) {
    return {name: c.name, error: String(e.message)};
  }
});
process.stdout.write(JSON.stringify(out));
