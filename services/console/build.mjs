// Builds the console into one self-contained page: node build.mjs OUTDIR.
//
// Every script and style sheet is inlined into OUTDIR/index.html, because
// the page is served by mosquitto's websockets listener (http_dir), which
// sends no Content-Type: a browser runs an inline script and applies an
// inline style whatever the server says, and the page needs nothing from the
// internet. The libraries come from node_modules (package-lock.json pins
// them); the page has no secret in it: the user signs in with a broker
// account.
import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
    console.error('usage: node build.mjs OUTDIR');
    process.exit(2);
}

// src/... is ours; anything else is a package in node_modules
function source(name) {
    const path = name.startsWith('src/') ? join(here, name) : join(here, 'node_modules', name);
    return readFileSync(path, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

// a style sheet's images (Leaflet's layer and marker icons) as data: URLs
function images(name, css) {
    return css.replace(/url\((['"]?)(images\/[A-Za-z0-9_.-]+\.(png|svg))\1\)/g, (_, q, rel, ext) => {
        const file = join(here, 'node_modules', dirname(name), rel);
        const type = ext === 'svg' ? 'image/svg+xml' : 'image/png';
        return `url("data:${type};base64,${readFileSync(file).toString('base64')}")`;
    });
}

function inline(kind, name) {
    const text = kind === 'style' ? images(name, source(name)) : source(name);
    const close = kind === 'script' ? /<\/script/gi : /<\/style/gi;
    if (close.test(text))
        throw new Error(`${name} contains a closing </${kind}> tag and cannot be inlined`);
    return kind === 'script' ? `<script>/* ${name} */\n${text}\n</script>`
                             : `<style>/* ${name} */\n${text}\n</style>`;
}

let page = readFileSync(join(here, 'src/index.html'), 'utf8');
let n = 0;
page = page.replace(/<!--@(script|style) ([^ ]+)-->/g, (_, kind, name) => {
    n++;
    return inline(kind, name);
});
const version = createHash('sha256').update(page).digest('hex').slice(0, 12);
page = page.replace('<head>', `<head>\n<meta name="eco-console-build" content="${version}">`);

mkdirSync(resolve(out), { recursive: true });
const tmp = join(resolve(out), '.index.html.tmp');
writeFileSync(tmp, page);
renameSync(tmp, join(resolve(out), 'index.html'));
console.log(`console: ${join(resolve(out), 'index.html')} (${n} parts inlined, ` +
            `${Math.round(page.length / 1024)} KiB, build ${version})`);
