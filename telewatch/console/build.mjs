// Builds the console into static/ (run by tools/build-console): one minified ES module
// bundle and one stylesheet, named by their content's hash (served as immutable), each with
// a gzip sibling, and index.html naming them (served with no-cache).
import {createHash} from 'node:crypto';
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {gzipSync, constants} from 'node:zlib';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'static');

function hashed(name, ext, text) {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return `${name}.${hash}.${ext}`;
}

function write(name, text) {
  writeFileSync(join(out, name), text);
  writeFileSync(join(out, name + '.gz'),
                gzipSync(text, {level: constants.Z_BEST_COMPRESSION}));
}

async function bundle(entry, loader) {
  const result = await esbuild.build({
    entryPoints: [join(here, 'src', entry)], bundle: true, minify: true, write: false,
    format: 'esm', target: ['es2020'], legalComments: 'none', loader,
    outdir: out,
  });
  return result.outputFiles[0].text;
}

const js = await bundle('app.js');
const css = await bundle('console.css', {'.css': 'css'});
rmSync(out, {recursive: true, force: true});
mkdirSync(out, {recursive: true});
const jsName = hashed('app', 'js', js);
const cssName = hashed('console', 'css', css);
write(jsName, js);
write(cssName, css);
const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('{{script}}', jsName).replace('{{stylesheet}}', cssName);
write('index.html', html);
const sizes = readdirSync(out).filter((n) => n.endsWith('.gz'))
  .map((n) => `${n} ${readFileSync(join(out, n)).length} B`);
console.log('telewatch console built in %s: %s', out, sizes.join(', '));
